//! An incremental HTTP/2 frame-header scanner: fed the bytes of one
//! direction of a connection as they pass, it reports each frame header
//! and knows where frame boundaries are (so a frame can be inserted
//! between two frames without corrupting the stream). It never buffers or
//! changes the bytes; payloads are skipped.

/// The client connection preface that opens every HTTP/2 connection.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;

/// Flag bit: END_STREAM on DATA/HEADERS, ACK on PING.
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;

const HEADER_LEN: usize = 9;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub length: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
}

/// Scans one direction of an HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct FrameScanner {
    /// Preface bytes still expected (client-to-server direction only).
    preface_left: usize,
    header: [u8; HEADER_LEN],
    header_len: usize,
    payload_left: usize,
    /// Not HTTP/2 after all: stop scanning.
    lost: bool,
}

impl FrameScanner {
    /// For bytes a client sends (starting with the preface).
    pub(crate) fn client_to_server() -> Self {
        Self::with_preface(PREFACE.len())
    }

    /// For bytes a server sends (frames from the first byte).
    pub(crate) fn server_to_client() -> Self {
        Self::with_preface(0)
    }

    fn with_preface(preface_left: usize) -> Self {
        Self {
            preface_left,
            header: [0; HEADER_LEN],
            header_len: 0,
            payload_left: 0,
            lost: false,
        }
    }

    /// True between two frames (where a whole frame may be inserted).
    pub(crate) fn at_boundary(&self) -> bool {
        !self.lost && self.preface_left == 0 && self.header_len == 0 && self.payload_left == 0
    }

    /// False once the bytes turned out not to be HTTP/2.
    pub(crate) fn is_http2(&self) -> bool {
        !self.lost
    }

    /// How many bytes finish the current header or payload; `None` at a
    /// boundary or when the stream is not HTTP/2.
    pub(crate) fn bytes_to_boundary(&self) -> Option<usize> {
        if self.lost || self.at_boundary() {
            None
        } else if self.preface_left > 0 {
            Some(self.preface_left)
        } else if self.header_len > 0 {
            Some(HEADER_LEN - self.header_len)
        } else {
            Some(self.payload_left)
        }
    }

    /// Consumes `bytes`, calling `on_frame` for each complete frame header.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut on_frame: impl FnMut(FrameHeader)) {
        while !bytes.is_empty() && !self.lost {
            if self.preface_left > 0 {
                let offset = PREFACE.len() - self.preface_left;
                let n = self.preface_left.min(bytes.len());
                if bytes[..n] != PREFACE[offset..offset + n] {
                    self.lost = true;
                    return;
                }
                self.preface_left -= n;
                bytes = &bytes[n..];
            } else if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len());
                self.payload_left -= n;
                bytes = &bytes[n..];
            } else {
                let n = (HEADER_LEN - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&bytes[..n]);
                self.header_len += n;
                bytes = &bytes[n..];
                if self.header_len == HEADER_LEN {
                    self.header_len = 0;
                    let h = &self.header;
                    let header = FrameHeader {
                        length: u32::from_be_bytes([0, h[0], h[1], h[2]]),
                        kind: h[3],
                        flags: h[4],
                        stream_id: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                    };
                    self.payload_left = usize::try_from(header.length).unwrap_or(usize::MAX);
                    on_frame(header);
                }
            }
        }
    }
}

/// A GOAWAY frame: `last_stream_id`, `error_code`, `debug` data.
pub(crate) fn goaway(last_stream_id: u32, error_code: u32, debug: &[u8]) -> Vec<u8> {
    let length = u32::try_from(8 + debug.len()).unwrap_or(8);
    let mut frame = Vec::with_capacity(HEADER_LEN + 8 + debug.len());
    frame.extend_from_slice(&length.to_be_bytes()[1..]);
    frame.push(GOAWAY);
    frame.push(0);
    frame.extend_from_slice(&0_u32.to_be_bytes());
    frame.extend_from_slice(&(last_stream_id & 0x7fff_ffff).to_be_bytes());
    frame.extend_from_slice(&error_code.to_be_bytes());
    frame.extend_from_slice(debug);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        let len = u32::try_from(payload.len()).unwrap_or(0);
        f.extend_from_slice(&len.to_be_bytes()[1..]);
        f.push(kind);
        f.push(flags);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn scans_frames_split_at_any_byte() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(HEADERS, 0, 1, b"abc"));
        bytes.extend(frame(PING, 0, 0, &[0; 8]));
        bytes.extend(frame(DATA, END_STREAM, 1, b"hello"));
        for chunk in 1..bytes.len() {
            let mut scanner = FrameScanner::client_to_server();
            let mut seen = Vec::new();
            for piece in bytes.chunks(chunk) {
                scanner.feed(piece, |h| {
                    seen.push((h.kind, h.flags, h.stream_id, h.length))
                });
            }
            assert_eq!(
                seen,
                vec![
                    (HEADERS, 0, 1, 3),
                    (PING, 0, 0, 8),
                    (DATA, END_STREAM, 1, 5)
                ]
            );
            assert!(scanner.at_boundary());
        }
    }

    #[test]
    fn knows_how_far_the_next_boundary_is() {
        let mut scanner = FrameScanner::server_to_client();
        assert_eq!(scanner.bytes_to_boundary(), None);
        let f = frame(DATA, 0, 1, b"hello");
        scanner.feed(&f[..4], |_| {});
        assert_eq!(scanner.bytes_to_boundary(), Some(5));
        scanner.feed(&f[4..11], |_| {});
        assert_eq!(scanner.bytes_to_boundary(), Some(3));
        scanner.feed(&f[11..], |_| {});
        assert!(scanner.at_boundary());
    }

    #[test]
    fn not_http2_stops_scanning() {
        let mut scanner = FrameScanner::client_to_server();
        scanner.feed(b"GET / HTTP/1.1\r\n", |_| {});
        assert!(!scanner.is_http2());
        assert!(!scanner.at_boundary());
    }

    #[test]
    fn goaway_frame_layout() {
        let f = goaway(5, 0xb, b"too_many_pings");
        let mut scanner = FrameScanner::server_to_client();
        let mut seen = Vec::new();
        scanner.feed(&f, |h| seen.push(h));
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].kind, GOAWAY);
        assert_eq!(seen[0].length, 8 + 14);
        assert_eq!(&f[9..13], &5_u32.to_be_bytes());
        assert_eq!(&f[13..17], &0xb_u32.to_be_bytes());
    }
}
