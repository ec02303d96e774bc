//! Newline-delimited framing with a length bound, so one huge or endless line can neither
//! exhaust memory nor desynchronise the stream: an over-long line is skipped up to its newline
//! and reported, and the next line is read normally.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What one call to [`read_line`] produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line (without its newline) is in the buffer.
    Line,
    /// A line longer than the limit was read and thrown away.
    TooLong,
    /// The peer closed the stream (any partial last line is dropped).
    Eof,
}

/// Reads the next line into `buf` (cleared first), never holding more than `max` bytes.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Frame> {
    buf.clear();
    let mut overflow = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Frame::Eof);
        }
        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(pos) => (&available[..pos], true),
            None => (available, false),
        };
        if !overflow {
            if buf.len() + chunk.len() > max {
                overflow = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            if overflow {
                return Ok(Frame::TooLong);
            }
            // Tolerate CRLF from hand-typed clients (socat, nc).
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Frame::Line);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    #[tokio::test]
    async fn long_lines_are_skipped_and_the_next_one_is_read() {
        let mut input = vec![b'a'; 100];
        input.extend_from_slice(b"\nok\r\nlast-without-newline");
        // A tiny buffer forces the line to arrive in many pieces.
        let mut reader = BufReader::with_capacity(7, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut buf, 10).await.unwrap(),
            Frame::TooLong
        );
        assert_eq!(
            read_line(&mut reader, &mut buf, 10).await.unwrap(),
            Frame::Line
        );
        assert_eq!(buf, b"ok");
        assert_eq!(
            read_line(&mut reader, &mut buf, 10).await.unwrap(),
            Frame::Eof
        );
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_fits() {
        let input = b"0123456789\n";
        let mut reader = BufReader::new(&input[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut buf, 10).await.unwrap(),
            Frame::Line
        );
        assert_eq!(buf.len(), 10);
    }
}
