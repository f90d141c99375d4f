//! Stamps out many test functions with `macro_rules!`, cheaply: a suite file defines a `make`
//! macro that turns a list of names into test functions (with its runner's attribute and the
//! suite's body), then calls `stamp_tests!(make; t_0 t_1 ...)`. Each module given holds a hundred
//! tests, `t00` to `t99`, so test `t_3::t45` is the suite's test number 345 and the name filter
//! `t_0` selects the first hundred, `t_0::t0` the first ten, whatever the runner.
//!
//! One macro call per hundred tests, no proc macro of our own and no build script: the 1,000-test
//! suites compile in seconds in the debug profile.

/// For each module name given, `mod NAME { make!(t00 .. t99); }`: a hundred tests in each.
macro_rules! stamp_tests {
    ($make:ident; $($module:ident)*) => {
        $(
            mod $module {
                $make! {
                    t00 t01 t02 t03 t04 t05 t06 t07 t08 t09
                    t10 t11 t12 t13 t14 t15 t16 t17 t18 t19
                    t20 t21 t22 t23 t24 t25 t26 t27 t28 t29
                    t30 t31 t32 t33 t34 t35 t36 t37 t38 t39
                    t40 t41 t42 t43 t44 t45 t46 t47 t48 t49
                    t50 t51 t52 t53 t54 t55 t56 t57 t58 t59
                    t60 t61 t62 t63 t64 t65 t66 t67 t68 t69
                    t70 t71 t72 t73 t74 t75 t76 t77 t78 t79
                    t80 t81 t82 t83 t84 t85 t86 t87 t88 t89
                    t90 t91 t92 t93 t94 t95 t96 t97 t98 t99
                }
            }
        )*
    };
}

/// A thousand tests, `t_0::t00` to `t_9::t99`.
#[allow(unused_macros)] // not every suite has a thousand tests
macro_rules! stamp_a_thousand {
    ($make:ident) => {
        stamp_tests!($make; t_0 t_1 t_2 t_3 t_4 t_5 t_6 t_7 t_8 t_9);
    };
}
