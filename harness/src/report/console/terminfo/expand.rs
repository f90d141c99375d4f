//! terminfo's parameterised strings (term(5), "Parameterized Strings"), expanded as libtest
//! expands `setaf` and `sgr0`: a small stack machine with printf's integer formats.

/// A parameterised terminfo string expanded as libtest expands it, with `first` as `%p1` (every
/// other parameter 0); `None` where libtest reports an error.
pub(super) fn expand(capability: &[u8], first: i32) -> Option<String> {
    let mut machine = Machine {
        params: [first, 0, 0, 0, 0, 0, 0, 0, 0],
        stack: Vec::new(),
        variables: [0; 52],
        output: Vec::new(),
    };
    machine.run(capability)?;
    Some(String::from_utf8_lossy(&machine.output).into_owned())
}

/// terminfo's stack machine (term(5), "Parameterized Strings").
struct Machine {
    params: [i32; 9],
    stack: Vec<i32>,
    /// `%Pa`..`%Pz`, then `%PA`..`%PZ`.
    variables: [i32; 52],
    output: Vec<u8>,
}

impl Machine {
    fn run(&mut self, code: &[u8]) -> Option<()> {
        let mut at = 0;
        while let Some(&byte) = code.get(at) {
            at += 1;
            if byte != b'%' {
                self.output.push(byte);
                continue;
            }
            let Some(&op) = code.get(at) else { break };
            at += 1;
            at = self.escape(op, code, at)?;
        }
        Some(())
    }

    /// Runs the escape `%OP` whose operands start at `at`; returns where the next byte is.
    fn escape(&mut self, op: u8, code: &[u8], mut at: usize) -> Option<usize> {
        match op {
            b'p' | b'P' | b'g' | b'\'' => return self.operand(op, code, at),
            b'{' => {
                let mut value: i32 = 0;
                loop {
                    let Some(&byte) = code.get(at) else {
                        return Some(at);
                    };
                    at += 1;
                    match byte {
                        b'}' => break,
                        b'0'..=b'9' => {
                            value = value.checked_mul(10)?.checked_add((byte - b'0') as i32)?
                        }
                        _ => return None,
                    }
                }
                self.stack.push(value);
            }
            b'%' | b'c' | b'd' | b'o' | b'x' | b'X' | b':' | b'#' | b' ' | b'.' | b'0'..=b'9' => {
                return self.print(op, code, at)
            }
            b'+' | b'-' | b'*' | b'/' | b'm' | b'&' | b'|' | b'^' | b'=' | b'<' | b'>' | b'A'
            | b'O' => {
                let (y, x) = (self.stack.pop()?, self.stack.pop()?);
                self.stack.push(binary(op, x, y)?);
            }
            b'!' => {
                let x = self.stack.pop()?;
                self.stack.push((x <= 0) as i32);
            }
            b'~' => {
                let x = self.stack.pop()?;
                self.stack.push(!x);
            }
            b'i' => {
                self.params[0] = self.params[0].wrapping_add(1);
                self.params[1] = self.params[1].wrapping_add(1);
            }
            b'?' | b';' => {}
            b't' => {
                if self.stack.pop()? == 0 {
                    at = skip(code, at, true);
                }
            }
            b'e' => at = skip(code, at, false),
            b'l' | b's' => return None,
            _ => return None,
        }
        Some(at)
    }

    /// Runs an escape that reads one operand from the string (`%p1`, `%Pa`, `%ga`, `%'c'`) at
    /// `at`; returns where the next byte is.
    fn operand(&mut self, op: u8, code: &[u8], at: usize) -> Option<usize> {
        // An operand cut off by the end of the string ends it quietly, as in libtest.
        let Some(&operand) = code.get(at) else {
            return Some(at);
        };
        match op {
            b'p' => {
                let digit = (operand as char).to_digit(10)? as usize;
                self.stack.push(*self.params.get(digit.checked_sub(1)?)?);
                Some(at + 1)
            }
            b'P' => {
                let slot = variable(operand)?;
                self.variables[slot] = self.stack.pop()?;
                Some(at + 1)
            }
            b'g' => {
                let slot = variable(operand)?;
                self.stack.push(self.variables[slot]);
                Some(at + 1)
            }
            // `%'c'`: the character itself, then its closing quote.
            _ => {
                self.stack.push(operand as i32);
                if code.get(at + 1).is_some_and(|&close| close != b'\'') {
                    return None;
                }
                Some(at + 2)
            }
        }
    }

    /// Runs an escape that writes: `%%`, `%c`, and printf's `%d`, `%o`, `%x` and `%X` with or
    /// without flags, the first of them `op`; returns where the next byte is.
    fn print(&mut self, op: u8, code: &[u8], at: usize) -> Option<usize> {
        match op {
            b'%' => self.output.push(b'%'),
            b'c' => {
                let value = self.stack.pop()?;
                self.output.push(if value == 0 { 128 } else { value as u8 });
            }
            b'd' | b'o' | b'x' | b'X' => {
                let value = self.stack.pop()?;
                self.output.extend(Format::default().apply(value, op));
            }
            _ => {
                let (format, conversion, next) = Format::read(op, code, at)?;
                if conversion != 0 {
                    let value = self.stack.pop()?;
                    if conversion == b's' {
                        return None;
                    }
                    self.output.extend(format.apply(value, conversion));
                }
                return Some(next);
            }
        }
        Some(at)
    }
}

/// `%Pa`'s slot.
fn variable(name: u8) -> Option<usize> {
    match name {
        b'a'..=b'z' => Some((name - b'a') as usize),
        b'A'..=b'Z' => Some(26 + (name - b'A') as usize),
        _ => None,
    }
}

fn binary(op: u8, x: i32, y: i32) -> Option<i32> {
    Some(match op {
        b'+' => x.wrapping_add(y),
        b'-' => x.wrapping_sub(y),
        b'*' => x.wrapping_mul(y),
        b'/' => x.checked_div(y)?,
        b'm' => x.checked_rem(y)?,
        b'&' => x & y,
        b'|' => x | y,
        b'^' => x ^ y,
        b'=' => (x == y) as i32,
        b'<' => (x < y) as i32,
        b'>' => (x > y) as i32,
        b'A' => (x > 0 && y > 0) as i32,
        _ => (x > 0 || y > 0) as i32,
    })
}

/// Past the branch not taken: from a false `%t` to its `%e` or `%;` (`to_else`), or from a
/// `%e` to its `%;`, stepping over nested `%?`s; returns where to go on.
fn skip(code: &[u8], mut at: usize, to_else: bool) -> usize {
    let mut depth = 0;
    while at < code.len() {
        let byte = code[at];
        at += 1;
        if byte != b'%' {
            continue;
        }
        let Some(&op) = code.get(at) else { break };
        at += 1;
        match op {
            b';' if depth == 0 => break,
            b';' => depth -= 1,
            b'e' if depth == 0 && to_else => break,
            b'?' => depth += 1,
            _ => {}
        }
    }
    at
}

/// Which part of a format its digits are.
#[derive(Clone, Copy)]
enum Part {
    Flags,
    Width,
    Precision,
}

/// printf's flags, width and precision, as terminfo takes them.
#[derive(Clone, Copy, Default)]
struct Format {
    width: usize,
    precision: usize,
    alternate: bool,
    left: bool,
    sign: bool,
    space: bool,
}

impl Format {
    /// The flags after `%` (the first of them `first`), up to the conversion; returns them,
    /// the conversion and where the next byte is. `None` where libtest refuses them; where the
    /// string ends first, the conversion is `0` and nothing is written.
    fn read(first: u8, code: &[u8], mut at: usize) -> Option<(Self, u8, usize)> {
        let mut format = Self::default();
        let mut part = Part::Flags;
        match first {
            b'#' => format.alternate = true,
            b' ' => format.space = true,
            b'.' => part = Part::Precision,
            b'0'..=b'9' => (format.width, part) = ((first - b'0') as usize, Part::Width),
            _ => {}
        }
        while let Some(&byte) = code.get(at) {
            at += 1;
            match (part, byte) {
                (_, b'd' | b'o' | b'x' | b'X' | b's') => return Some((format, byte, at)),
                (Part::Flags, b'#') => format.alternate = true,
                (Part::Flags, b'-') => format.left = true,
                (Part::Flags, b'+') => format.sign = true,
                (Part::Flags, b' ') => format.space = true,
                (Part::Flags, b'0'..=b'9') => {
                    (format.width, part) = ((byte - b'0') as usize, Part::Width)
                }
                (Part::Flags | Part::Width, b'.') => part = Part::Precision,
                (Part::Width, b'0'..=b'9') => format.width = grow(format.width, byte)?,
                (Part::Precision, b'0'..=b'9') => format.precision = grow(format.precision, byte)?,
                _ => return None,
            }
        }
        Some((format, 0, at))
    }

    fn apply(self, value: i32, conversion: u8) -> Vec<u8> {
        let precision = self.precision;
        let text = match conversion {
            b'd' if self.sign => format!("{value:+0precision$}"),
            b'd' if value < 0 => format!("{value:0width$}", width = precision + 1),
            b'd' if self.space => format!(" {value:0precision$}"),
            b'd' => format!("{value:0precision$}"),
            b'o' if self.alternate => {
                format!("0{value:0width$o}", width = precision.saturating_sub(1))
            }
            b'o' => format!("{value:0precision$o}"),
            b'x' if self.alternate && value != 0 => format!("0x{value:0precision$x}"),
            b'x' => format!("{value:0precision$x}"),
            _ if self.alternate && value != 0 => format!("0X{value:0precision$X}"),
            _ => format!("{value:0precision$X}"),
        };
        let padding = " ".repeat(self.width.saturating_sub(text.len()));
        match self.left {
            true => text + &padding,
            false => padding + &text,
        }
        .into_bytes()
    }
}

fn grow(value: usize, digit: u8) -> Option<usize> {
    value.checked_mul(10)?.checked_add((digit - b'0') as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XTERM_256_SETAF: &[u8] =
        b"\x1b[%?%p1%{8}%<%t3%p1%d%e%p1%{16}%<%t9%p1%{8}%-%d%e38;5;%p1%d%;m";

    #[test]
    fn setaf_expands_as_terminfo_says() {
        assert_eq!(expand(b"\x1b[3%p1%dm", 2).unwrap(), "\x1b[32m");
        assert_eq!(expand(XTERM_256_SETAF, 1).unwrap(), "\x1b[31m");
        assert_eq!(expand(XTERM_256_SETAF, 12).unwrap(), "\x1b[94m");
        assert_eq!(expand(XTERM_256_SETAF, 200).unwrap(), "\x1b[38;5;200m");
        assert_eq!(expand(b"\x1b[m\x0f$<2>", 0).unwrap(), "\x1b[m\x0f$<2>");
    }

    #[test]
    fn the_stack_machine_computes_branches_and_formats() {
        assert_eq!(expand(b"%p1%{3}%*%d", 7).unwrap(), "21");
        assert_eq!(expand(b"%?%p1%t1%e%p2%t2%e3%;", 0).unwrap(), "3");
        assert_eq!(expand(b"%?%p1%t%?%p2%tA%;B%;C", 1).unwrap(), "BC");
        assert_eq!(expand(b"%p1%Pa%ga%ga%+%d", 4).unwrap(), "8");
        assert_eq!(expand(b"%'A'%c%%", 0).unwrap(), "A%");
        // A leading 0 is a width digit, not C's zero flag, in libtest's reading.
        assert_eq!(
            expand(b"%p1%:-4d|%p1%03d|%p1%#x", 10).unwrap(),
            "10  | 10|0xa"
        );
        assert_eq!(expand(b"%i%p1%d;%p2%d", 4).unwrap(), "5;1");
        assert_eq!(expand(b"%p1%s", 4), None);
        assert_eq!(expand(b"%d", 4), None);
        assert_eq!(expand(b"%z", 4), None);
        assert_eq!(expand(b"%::d", 4), None);
        assert_eq!(expand(b"ab%p", 4).unwrap(), "ab");
        assert_eq!(expand(b"%p1%.3d", 4).unwrap(), "004");
    }
}
