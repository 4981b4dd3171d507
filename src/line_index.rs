//! Byte offsets <-> (line, column) in UTF-8, UTF-16 or UTF-32 code units.
//!
//! This is the only code in synergy-ls that knows about position encodings. The LSP layer
//! negotiates an [`Encoding`] and converts every position through here; `check` uses
//! [`Encoding::Utf32`] to report columns counted in characters.
//!
//! Out-of-range positions are clamped as the LSP specification asks: a column past the end of a
//! line means the end of that line, a line past the end means the end of the text.

/// A code unit in which columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    /// Unicode scalar values, i.e. characters.
    Utf32,
}

/// A zero-based line and column, the column counted in the chosen [`Encoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// The start offset of each line of a text. Lines end at `\n`, `\r\n` or a lone `\r`, the three
/// terminators the LSP specification names; the terminator is not part of the line's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        // A `\r` ends a line unless a `\n` follows (then the `\n` does).
        starts.extend(
            memchr::memchr2_iter(b'\n', b'\r', bytes)
                .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
                .map(|i| i + 1),
        );
        LineIndex { starts, len: text.len() }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The byte range of line `line` without its terminator.
    pub fn line_range(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let start = self.starts[line.min(self.starts.len() - 1)];
        let Some(&next) = self.starts.get(line + 1) else { return start..self.len };
        let bytes = text.as_bytes();
        let mut end = next - 1; // drop the `\n` or lone `\r`
        if bytes[end] == b'\n' && end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// The line containing byte `offset` (an offset past the end is on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// The position of byte `offset`. An offset inside a character is moved to its start.
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(self.len));
        let line = self.line_of(offset);
        let start = self.starts[line];
        LineCol { line: line as u32, col: width(&text[start..offset], enc) as u32 }
    }

    /// The byte offset of a position, clamped to the text (see the module docs).
    pub fn offset(&self, text: &str, pos: LineCol, enc: Encoding) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return self.len;
        }
        let range = self.line_range(text, line);
        let line_text = &text[range.clone()];
        range.start + byte_of_col(line_text, pos.col as usize, enc)
    }
}

/// The positions of ascending byte `offsets` in `text`, each with the byte range of its line
/// (terminator excluded), in one forward pass and without building a [`LineIndex`]: for
/// callers that place a few positions in many texts (`check`, the workspace index). Lines
/// without a `\r` are counted a stretch at a time (memchr's vectorised count). Offsets that
/// are not ascending fall back to a [`LineIndex`]; each is clamped as [`LineIndex::position`]
/// clamps.
pub fn positions_in_order(text: &str, offsets: &[usize], enc: Encoding) -> Vec<(LineCol, std::ops::Range<usize>)> {
    if offsets.windows(2).any(|w| w[0] > w[1]) {
        let index = LineIndex::new(text);
        return offsets
            .iter()
            .map(|&o| {
                let p = index.position(text, o, enc);
                (p, index.line_range(text, p.line as usize))
            })
            .collect();
    }
    let bytes = text.as_bytes();
    let has_cr = memchr::memchr(b'\r', bytes).is_some();
    let (mut line, mut line_start, mut pos) = (0u32, 0usize, 0usize);
    offsets
        .iter()
        .map(|&offset| {
            let offset = floor_char_boundary(text, offset.min(text.len()));
            if has_cr {
                while let Some(i) = memchr::memchr2(b'\n', b'\r', &bytes[pos..offset]) {
                    let at = pos + i;
                    let crlf = bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n');
                    let next = if crlf { at + 2 } else { at + 1 };
                    if next > offset {
                        break; // between the halves of a CRLF: still on this line
                    }
                    line += 1;
                    line_start = next;
                    pos = next;
                }
            } else {
                let stretch = &bytes[pos..offset];
                line += memchr::memchr_iter(b'\n', stretch).count() as u32;
                if let Some(i) = memchr::memrchr(b'\n', stretch) {
                    line_start = pos + i + 1;
                }
            }
            pos = pos.max(offset);
            let line_end = memchr::memchr2(b'\n', b'\r', &bytes[line_start..]).map_or(text.len(), |i| line_start + i);
            let col = width(&text[line_start..offset], enc) as u32;
            (LineCol { line, col }, line_start..line_end)
        })
        .collect()
}

/// How many code units `s` takes in `enc`.
pub fn width(s: &str, enc: Encoding) -> usize {
    match enc {
        Encoding::Utf8 => s.len(),
        // Fast path: ASCII text has one unit per byte in every encoding.
        _ if s.is_ascii() => s.len(),
        Encoding::Utf16 => s.chars().map(char::len_utf16).sum(),
        Encoding::Utf32 => s.chars().count(),
    }
}

/// The byte offset in `line` of column `col`; a column inside a character (a lone UTF-16
/// surrogate half, a byte inside a UTF-8 sequence) rounds down to the character's start.
fn byte_of_col(line: &str, col: usize, enc: Encoding) -> usize {
    if line.is_ascii() || enc == Encoding::Utf8 {
        return floor_char_boundary(line, col.min(line.len()));
    }
    let mut units = 0;
    for (i, c) in line.char_indices() {
        let w = match enc {
            Encoding::Utf16 => c.len_utf16(),
            _ => 1,
        };
        if units + w > col {
            return i;
        }
        units += w;
    }
    line.len()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte offset that starts a character survives offset -> position -> offset in every
    /// encoding, and the columns are the expected ones.
    fn check(text: &str, offset: usize, enc: Encoding, expect: (u32, u32)) {
        let index = LineIndex::new(text);
        let pos = index.position(text, offset, enc);
        assert_eq!((pos.line, pos.col), expect, "position of {offset} in {enc:?}");
        assert_eq!(index.offset(text, pos, enc), offset, "round trip in {enc:?}");
    }

    #[test]
    fn emoji_before_a_reference() {
        // 😀 is 4 bytes in UTF-8, 2 units in UTF-16 and 1 character.
        let text = "a😀 job:X\n";
        let at = text.find("job:").unwrap();
        check(text, at, Encoding::Utf8, (0, 6));
        check(text, at, Encoding::Utf16, (0, 4));
        check(text, at, Encoding::Utf32, (0, 3));
    }

    #[test]
    fn second_line_with_crlf_and_non_bmp() {
        let text = "x\r\n𝄞é job:Y";
        let at = text.find("job:").unwrap();
        check(text, at, Encoding::Utf16, (1, 4));
        check(text, at, Encoding::Utf32, (1, 3));
        check(text, at, Encoding::Utf8, (1, 7));
    }

    #[test]
    fn round_trips_every_char_boundary() {
        let text = "é😀\n\nab𝄞c\r\nß";
        let index = LineIndex::new(text);
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for (i, _) in text.char_indices().chain([(text.len(), ' ')]) {
                // The `\n` of a CRLF has no column of its own: the line ends at the `\r`.
                if text[..i].ends_with('\r') {
                    continue;
                }
                let pos = index.position(text, i, enc);
                assert_eq!(index.offset(text, pos, enc), i, "offset {i} in {enc:?}");
            }
        }
    }

    #[test]
    fn all_three_line_terminators() {
        let text = "a\nb\r\nc\rd\r";
        check(text, text.find('b').unwrap(), Encoding::Utf16, (1, 0));
        check(text, text.find('c').unwrap(), Encoding::Utf16, (2, 0));
        check(text, text.find('d').unwrap(), Encoding::Utf16, (3, 0));
        check(text, text.len(), Encoding::Utf16, (4, 0));
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 5);
        assert_eq!(&text[index.line_range(text, 1)], "b");
        assert_eq!(&text[index.line_range(text, 3)], "d");
    }

    /// The one-pass placement agrees with the index on every line-break style, multi-byte
    /// characters, and offsets given out of order.
    #[test]
    fn positions_in_order_agree_with_the_index() {
        let texts = [
            "a job:One\r\nb 😀 job:\"Two x\"\rc\n\njob:Three\r\n\r\nzz job:Four",
            "a job:One job:Two\nb 😀 job:\"Two x\"\nc\n\njob:Three\n\n\nzz job:Four",
            "𝄞\r\r\n\nx",
        ];
        for text in texts {
            let index = LineIndex::new(text);
            let mut offsets: Vec<usize> =
                text.char_indices().map(|(i, _)| i).chain([text.len(), text.len() + 5]).collect();
            // The `\n` of a CRLF has no position of its own.
            let bytes = text.as_bytes();
            offsets.retain(|&i| !(i > 0 && i < bytes.len() && bytes[i - 1] == b'\r' && bytes[i] == b'\n'));
            for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let expect: Vec<_> = offsets
                    .iter()
                    .map(|&o| {
                        let p = index.position(text, o, enc);
                        (p, index.line_range(text, p.line as usize))
                    })
                    .collect();
                assert_eq!(positions_in_order(text, &offsets, enc), expect, "{text:?} {enc:?}");
                let reversed: Vec<usize> = offsets.iter().rev().copied().collect();
                let mut back = positions_in_order(text, &reversed, enc);
                back.reverse();
                assert_eq!(back, expect, "{text:?} {enc:?} reversed");
            }
        }
    }

    #[test]
    fn clamps_out_of_range_positions() {
        let text = "ab\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LineCol { line: 0, col: 99 }, Encoding::Utf16), 2);
        assert_eq!(index.offset(text, LineCol { line: 7, col: 0 }, Encoding::Utf16), 5);
        // Half a surrogate pair rounds down to the start of the character.
        let text = "😀x";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, LineCol { line: 0, col: 1 }, Encoding::Utf16), 0);
        assert_eq!(index.position(text, 2, Encoding::Utf16), LineCol { line: 0, col: 0 });
    }
}
