//! A guard on the socket's incoming bytes that refuses a frame by the length its header
//! announces. actix-ws checks a frame's size only once the whole frame has arrived and
//! buffers until then, so a client announcing a 2⁶³-byte frame could make the server hold
//! whatever it sends. Here the header is read as it passes and an announced length over the
//! limit ends the stream at once (the connection closes with 1009).

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;

/// The error a refused frame ends the stream with; the connection finds it by its type
/// ([`is_too_big`]) to close with 1009 rather than "protocol error".
#[derive(Debug, thiserror::Error)]
#[error("frame over 64 KiB")]
pub struct FrameTooBig;

/// Whether actix-ws's error is a frame too big: [`FrameTooBig`] from this guard (actix-ws
/// wraps the stream's error: `io::Error(PayloadError::Io(io::Error(FrameTooBig)))`), or
/// actix-ws's own limit on a message sent in continuation frames, which it reports as an
/// untyped `io::Error` carrying only its message.
pub fn is_too_big(error: &std::io::Error) -> bool {
    const CONTINUATION_LIMIT: &str = "Exceeded maximum continuation size";
    let ours = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<PayloadError>())
        .is_some_and(|payload| match payload {
            PayloadError::Io(io) => io.get_ref().is_some_and(|e| e.is::<FrameTooBig>()),
            _ => false,
        });
    ours || error
        .get_ref()
        .is_some_and(|inner| inner.to_string() == CONTINUATION_LIMIT)
}

pub struct FrameGuard {
    inner: Payload,
    max: u64,
    /// The header bytes read so far (at most 14: 2 + 8 for the length + 4 for the mask).
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to pass.
    left: u64,
}

impl FrameGuard {
    pub fn new(inner: Payload, max: usize) -> Self {
        Self {
            inner,
            max: max as u64,
            header: [0; 14],
            have: 0,
            left: 0,
        }
    }

    /// Follows the frame structure through `chunk`; `false` when a header announces a frame
    /// over the limit.
    fn check(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            if self.left > 0 {
                let skip = self.left.min(chunk.len() as u64);
                self.left -= skip;
                chunk = &chunk[skip as usize..];
                continue;
            }
            self.header[self.have] = chunk[0];
            self.have += 1;
            chunk = &chunk[1..];
            if self.have < 2 {
                continue;
            }
            let short = u64::from(self.header[1] & 0x7f);
            let extended = match short {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            if self.have < 2 + extended + mask {
                continue;
            }
            let length = match extended {
                0 => short,
                n => self.header[2..2 + n]
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            };
            if length > self.max {
                return false;
            }
            self.have = 0;
            self.left = length;
        }
        true
    }
}

impl Stream for FrameGuard {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if self.check(&chunk) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::other(
                        FrameTooBig,
                    )))))
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> FrameGuard {
        FrameGuard::new(Payload::None, 64 * 1024)
    }

    #[test]
    fn passes_frames_under_the_limit_split_anywhere() {
        let mut g = guard();
        // A masked 5-byte text frame, then a 300-byte one (16-bit length), byte by byte.
        let mut bytes = vec![0x81, 0x85, 1, 2, 3, 4, b'h', b'e', b'l', b'l', b'o'];
        bytes.extend([0x81, 0xfe, 0x01, 0x2c, 1, 2, 3, 4]);
        bytes.extend(vec![b'x'; 300]);
        for b in &bytes {
            assert!(g.check(std::slice::from_ref(b)));
        }
        assert_eq!((g.have, g.left), (0, 0));
    }

    #[test]
    fn refuses_an_announced_length_over_the_limit_before_the_payload() {
        let mut g = guard();
        let mut header = vec![0x81, 0xff];
        header.extend((1u64 << 63).to_be_bytes());
        header.extend([1, 2, 3, 4]);
        assert!(!g.check(&header));
        let mut g = guard();
        assert!(!g.check(&[0x81, 0xfe | 0x01, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4]));
        let mut g = guard();
        assert!(g.check(&[0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]));
    }
}
