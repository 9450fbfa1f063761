//! Just enough JSON structure to check event sizes and imply `type`.
//!
//! A linear, non-recursive scan of the top-level object: whether it has a
//! `type` member, and the byte ranges of the elements of `batch`. It does
//! not validate (the router does); on anything it does not recognise it
//! answers `None`, and the body is passed on unchanged.

use std::ops::Range;

/// What the top level of a body holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Offset of the opening `{`.
    pub open: usize,
    /// The object has no members.
    pub empty: bool,
    /// It has a member named `type` (unescaped spelling).
    pub has_type: bool,
    /// The byte ranges of the elements of `batch`, when it is an array.
    pub batch: Option<Vec<Range<usize>>>,
}

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// At `"`: skips the string, returning its raw contents' range.
    fn string(&mut self) -> Option<Range<usize>> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(start..self.i - 1);
                }
                b'\\' => self.i += 2,
                _ => self.i += 1,
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                let start = self.i;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
                ) {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }

    fn array_elements(&mut self) -> Option<Vec<Range<usize>>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            self.ws();
            let start = self.i;
            self.value()?;
            out.push(start..self.i);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }
}

/// Scans the top-level object of `body`.
pub(crate) fn scan(body: &[u8]) -> Option<Shape> {
    let mut c = Cur { b: body, i: 0 };
    let mut shape = Shape::default();
    c.ws();
    shape.open = c.i;
    c.eat(b'{')?;
    c.ws();
    if c.eat(b'}').is_some() {
        shape.empty = true;
        return Some(shape);
    }
    loop {
        c.ws();
        let key = c.string()?;
        c.ws();
        c.eat(b':')?;
        c.ws();
        match body.get(key)? {
            b"type" => {
                shape.has_type = true;
                c.value()?;
            }
            b"batch" if c.peek() == Some(b'[') => shape.batch = Some(c.array_elements()?),
            _ => c.value()?,
        }
        c.ws();
        match c.peek()? {
            b',' => c.i += 1,
            b'}' => return Some(shape),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_type_and_batch_elements() {
        let body = br#" {"a":{"type":1,"s":"}]\""},"batch":[ {"x":[1,2]} , 3,"s" ],"type":"t"}"#;
        let s = scan(body).unwrap();
        assert_eq!(s.open, 1);
        assert!(s.has_type && !s.empty);
        let els: Vec<&[u8]> = s.batch.unwrap().into_iter().map(|r| &body[r]).collect();
        assert_eq!(els, [&br#"{"x":[1,2]}"#[..], b"3", br#""s""#]);
    }

    #[test]
    fn nested_type_does_not_count() {
        let s = scan(br#"{"properties":{"type":"x"},"event":"E"}"#).unwrap();
        assert!(!s.has_type && s.batch.is_none());
        assert!(scan(b"{ }").unwrap().empty);
        assert_eq!(scan(br#"{"batch":[]}"#).unwrap().batch, Some(vec![]));
    }

    #[test]
    fn unrecognised_bodies_are_none() {
        for body in [
            &b""[..],
            b"[]",
            b"{",
            br#"{"a""#,
            br#"{"a":}"#,
            br#"{"a":1 "b":2}"#,
            br#"{"batch":[1,}"#,
            br#"{"a":]}"#,
        ] {
            assert_eq!(scan(body), None, "{:?}", String::from_utf8_lossy(body));
        }
    }
}
