//! What each test of the condvar_threads suites does: a queue behind a `Mutex` and two
//! `Condvar`s, bounded, with four producer and four consumer threads passing 5,000 items through
//! it, as the many-thread queue and pool tests of real crates do (parked and woken threads,
//! boxed items from one thread freed on another).

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex};

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const ITEMS_PER_PRODUCER: usize = 1_250;
/// Small, so that producers wait for room as often as consumers wait for items.
const CAPACITY: usize = 8;

#[derive(Default)]
struct Queue {
    items: Mutex<VecDeque<Box<u64>>>,
    not_empty: Condvar,
    not_full: Condvar,
}

impl Queue {
    fn push(&self, item: Box<u64>) {
        let mut items = self.items.lock().unwrap();
        while items.len() == CAPACITY {
            items = self.not_full.wait(items).unwrap();
        }
        items.push_back(item);
        self.not_empty.notify_one();
    }

    fn pop(&self) -> Box<u64> {
        let mut items = self.items.lock().unwrap();
        loop {
            if let Some(item) = items.pop_front() {
                self.not_full.notify_one();
                return item;
            }
            items = self.not_empty.wait(items).unwrap();
        }
    }
}

/// Passes every producer's items to the consumers and checks that each arrived once.
pub fn pass_items_between_threads() {
    let queue = Arc::new(Queue::default());
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                for i in 0..ITEMS_PER_PRODUCER {
                    queue.push(Box::new((producer * ITEMS_PER_PRODUCER + i) as u64));
                }
            })
        })
        .collect();
    let per_consumer = PRODUCERS * ITEMS_PER_PRODUCER / CONSUMERS;
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                (0..per_consumer)
                    .map(|_| *black_box(queue.pop()))
                    .sum::<u64>()
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    let n = (PRODUCERS * ITEMS_PER_PRODUCER) as u64;
    assert_eq!(total, n * (n - 1) / 2);
}
