//! A child's captured stdout or stderr, bounded so a test that prints gigabytes cannot exhaust
//! the harness's memory: the first [`HEAD`] bytes and the last [`TAIL`] bytes are kept.

use std::collections::VecDeque;

const HEAD: usize = 256 << 10;
const TAIL: usize = 768 << 10;

/// The output of one stream, with the middle of an overlong one left out.
#[derive(Debug, Default)]
pub(crate) struct CapturedStream {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    omitted: u64,
}

impl CapturedStream {
    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD {
            let take = bytes.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.len() >= TAIL {
            self.omitted += (self.tail.len() + bytes.len() - TAIL) as u64;
            self.tail.clear();
            bytes = &bytes[bytes.len() - TAIL..];
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(TAIL);
        self.tail.drain(..overflow);
        self.omitted += overflow as u64;
        self.tail.extend(bytes);
    }

    /// Whether the stream's last bytes are `suffix`.
    pub(crate) fn ends_with(&self, suffix: &[u8]) -> bool {
        let (tail_len, head_len) = (self.tail.len(), self.head.len());
        if suffix.len() > tail_len + head_len {
            return false;
        }
        let from_head = suffix.len().saturating_sub(tail_len);
        let (head_part, tail_part) = suffix.split_at(from_head);
        self.head.ends_with(head_part)
            && self
                .tail
                .iter()
                .skip(tail_len - tail_part.len())
                .eq(tail_part)
    }

    /// Calls `look` on each part kept (the head, then the tail), as it is.
    pub(crate) fn for_each_part(&mut self, mut look: impl FnMut(&[u8])) {
        look(&self.head);
        look(self.tail.make_contiguous());
    }

    /// Replaces each part kept by what `rewrite` makes of it, where it makes something. A
    /// rewritten part may outgrow its bound: by what the rewrite added, no more.
    pub(crate) fn rewrite_parts(&mut self, mut rewrite: impl FnMut(&[u8]) -> Option<Vec<u8>>) {
        if let Some(head) = rewrite(&self.head) {
            self.head = head;
        }
        if let Some(tail) = rewrite(self.tail.make_contiguous()) {
            self.tail = tail.into();
        }
    }

    /// The bytes kept, head and tail.
    pub(crate) fn kept_bytes(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_empty()
    }

    /// The text as shown under a failure.
    pub(crate) fn text(&self) -> String {
        let mut bytes = self.head.clone();
        if self.omitted > 0 {
            let note = format!("\n[... {} bytes omitted ...]\n", self.omitted);
            bytes.extend_from_slice(note.as_bytes());
        }
        bytes.extend(&self.tail);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut stream = CapturedStream::default();
        stream.push(b"hello ");
        stream.push(b"world");
        assert_eq!(stream.text(), "hello world");
    }

    #[test]
    fn ends_with_looks_across_head_and_tail() {
        let mut stream = CapturedStream::default();
        stream.push(b"abc");
        assert!(stream.ends_with(b"bc") && stream.ends_with(b"") && !stream.ends_with(b"xabc"));
        stream.push(&vec![b'x'; HEAD]);
        stream.push(b"end\n");
        assert!(stream.ends_with(b"xxend\n") && !stream.ends_with(b"end"));
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let mut stream = CapturedStream::default();
        let total = HEAD + TAIL + 1000;
        for chunk in 0..total / 8 {
            stream.push(&[b'a' + (chunk % 26) as u8; 8]);
        }
        let text = stream.text();
        assert!(text.contains("[... 1000 bytes omitted ...]"));
        assert_eq!(
            text.len(),
            HEAD + TAIL + "\n[... 1000 bytes omitted ...]\n".len()
        );
    }

    #[test]
    fn one_huge_write_is_bounded() {
        let mut stream = CapturedStream::default();
        stream.push(&vec![b'x'; HEAD + 2 * TAIL]);
        stream.push(b"end");
        let text = stream.text();
        assert!(text.ends_with("xend"));
        assert!(text.contains(&format!("[... {} bytes omitted ...]", TAIL + 3)));
    }
}
