//! A small parser of STIX 2.x patterning: it checks the whole grammar
//! (observation expressions joined by AND, OR and FOLLOWEDBY, with their
//! qualifiers) and returns every comparison it holds, so the caller can pick
//! the ones naming observables. Qualifiers are read and dropped.

use std::fmt;

/// Deepest nesting of brackets and parentheses accepted, so hostile input
/// cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A syntax error, at a 0-based character offset into the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern syntax error at character {}: {}", self.offset, self.message)
    }
}

/// One step of an object path after the object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name` or `.'quoted name'` (and the first component).
    Key(String),
    /// `[3]` or `[*]`.
    Index,
}

/// A literal on the right of a comparison, as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(String),
    Float(String),
    Bool(bool),
    Hex(String),
    Binary(String),
    Time(String),
}

impl Literal {
    /// The text of a string, integer or hex literal; `None` for others.
    pub fn text(&self) -> Option<&str> {
        match self {
            Literal::Str(s) | Literal::Int(s) | Literal::Hex(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    Exists,
}

/// `object_type:path op value(s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub object_type: String,
    pub path: Vec<Step>,
    pub op: Op,
    pub negated: bool,
    pub values: Vec<Literal>,
}

impl Comparison {
    /// The keys of the path, lower-cased, with indexes left out.
    pub fn keys(&self) -> Vec<String> {
        self.path
            .iter()
            .filter_map(|s| match s {
                Step::Key(k) => Some(k.to_ascii_lowercase()),
                Step::Index => None,
            })
            .collect()
    }
}

/// Parses `pattern` and returns its comparisons in order.
pub fn parse(pattern: &str) -> Result<Vec<Comparison>, PatternError> {
    let tokens = lex(pattern)?;
    let mut p = Parser { tokens, pos: 0, depth: 0, out: Vec::new(), end: pattern.chars().count() };
    if p.tokens.is_empty() {
        return Err(PatternError { offset: 0, message: "empty pattern".into() });
    }
    p.observation_expressions()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(p.err_at(t.offset, format!("unexpected {}", t.tok.describe())));
    }
    Ok(p.out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Cmp(Op),
    Word(String),
    Lit(Literal),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Star => "`*`".into(),
            Tok::Cmp(op) => format!("operator {op:?}"),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Lit(_) => "literal".into(),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w == kw)
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
}

fn lex(pattern: &str) -> Result<Vec<Token>, PatternError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |offset: usize, message: &str| PatternError { offset, message: message.to_string() };
    while let Some(&c) = chars.get(i) {
        let start = i;
        let simple = match c {
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => Some(Tok::Dot),
            '*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, offset: start });
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two = |a: char, b: char| c == a && chars.get(i + 1) == Some(&b);
        let op = if two('!', '=') || two('<', '>') {
            Some((Op::Ne, 2))
        } else if two('<', '=') {
            Some((Op::Le, 2))
        } else if two('>', '=') {
            Some((Op::Ge, 2))
        } else if two('=', '=') {
            Some((Op::Eq, 2))
        } else {
            match c {
                '=' => Some((Op::Eq, 1)),
                '<' => Some((Op::Lt, 1)),
                '>' => Some((Op::Gt, 1)),
                _ => None,
            }
        };
        if let Some((op, len)) = op {
            out.push(Token { tok: Tok::Cmp(op), offset: start });
            i += len;
            continue;
        }
        // Prefixed literals: t'..', h'..', b'..'.
        if matches!(c, 't' | 'h' | 'b') && chars.get(i + 1) == Some(&'\'') {
            let (s, next) = string_at(&chars, i + 1)?;
            let lit = match c {
                't' => Literal::Time(s),
                'h' => Literal::Hex(s),
                _ => Literal::Binary(s),
            };
            out.push(Token { tok: Tok::Lit(lit), offset: start });
            i = next;
            continue;
        }
        if c == '\'' {
            let (s, next) = string_at(&chars, i)?;
            out.push(Token { tok: Tok::Lit(Literal::Str(s)), offset: start });
            i = next;
            continue;
        }
        if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            let mut j = i + 1;
            while chars.get(j).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                j += 1;
            }
            let text: String = chars.get(i..j).unwrap_or_default().iter().collect();
            let lit = if text.contains('.') {
                if text.parse::<f64>().is_err() {
                    return Err(err(start, "malformed number"));
                }
                Literal::Float(text)
            } else {
                Literal::Int(text.trim_start_matches('+').to_string())
            };
            out.push(Token { tok: Tok::Lit(lit), offset: start });
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i + 1;
            while chars.get(j).is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_' || *d == '-') {
                j += 1;
            }
            let word: String = chars.get(i..j).unwrap_or_default().iter().collect();
            let tok = match word.as_str() {
                "true" => Tok::Lit(Literal::Bool(true)),
                "false" => Tok::Lit(Literal::Bool(false)),
                _ => Tok::Word(word),
            };
            out.push(Token { tok, offset: start });
            i = j;
            continue;
        }
        return Err(err(start, &format!("unexpected character `{c}`")));
    }
    Ok(out)
}

/// Reads a quoted string starting at the quote at `i`; returns its unescaped
/// text and the index after the closing quote.
fn string_at(chars: &[char], i: usize) -> Result<(String, usize), PatternError> {
    let mut s = String::new();
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        match c {
            '\'' => return Ok((s, j + 1)),
            '\\' => match chars.get(j + 1) {
                Some(&e @ ('\'' | '\\')) => {
                    s.push(e);
                    j += 2;
                }
                _ => {
                    return Err(PatternError {
                        offset: j,
                        message: "invalid escape; only \\' and \\\\ are allowed".into(),
                    });
                }
            },
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
    Err(PatternError { offset: i, message: "unterminated string".into() })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    out: Vec<Comparison>,
    end: usize,
}

impl Parser {
    fn err_at(&self, offset: usize, message: impl Into<String>) -> PatternError {
        PatternError { offset, message: message.into() }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.offset)
    }

    fn unexpected(&self, wanted: &str) -> PatternError {
        match self.tokens.get(self.pos) {
            Some(t) => self.err_at(t.offset, format!("expected {wanted}, found {}", t.tok.describe())),
            None => self.err_at(self.end, format!("expected {wanted}, found end of pattern")),
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, wanted: &str) -> Result<(), PatternError> {
        if self.eat(tok) { Ok(()) } else { Err(self.unexpected(wanted)) }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(self.offset(), "pattern nested too deeply"));
        }
        Ok(())
    }

    /// observationExpressions: or-expressions joined by FOLLOWEDBY.
    fn observation_expressions(&mut self) -> Result<(), PatternError> {
        self.observation_or()?;
        while self.eat_kw("FOLLOWEDBY") {
            self.observation_or()?;
        }
        Ok(())
    }

    fn observation_or(&mut self) -> Result<(), PatternError> {
        self.observation_and()?;
        while self.eat_kw("OR") {
            self.observation_and()?;
        }
        Ok(())
    }

    fn observation_and(&mut self) -> Result<(), PatternError> {
        self.observation()?;
        while self.eat_kw("AND") {
            self.observation()?;
        }
        Ok(())
    }

    /// `[ comparison ]` or `( observationExpressions )`, then qualifiers.
    fn observation(&mut self) -> Result<(), PatternError> {
        self.enter()?;
        if self.eat(&Tok::LBracket) {
            self.comparison_or()?;
            self.expect(&Tok::RBracket, "`]`")?;
        } else if self.eat(&Tok::LParen) {
            self.observation_expressions()?;
            self.expect(&Tok::RParen, "`)`")?;
        } else {
            return Err(self.unexpected("`[` or `(`"));
        }
        self.depth -= 1;
        self.qualifiers()
    }

    fn qualifiers(&mut self) -> Result<(), PatternError> {
        loop {
            if self.eat_kw("WITHIN") {
                self.number("a number of seconds")?;
                if !self.eat_kw("SECONDS") {
                    return Err(self.unexpected("SECONDS"));
                }
            } else if self.eat_kw("REPEATS") {
                self.number("a repeat count")?;
                if !self.eat_kw("TIMES") {
                    return Err(self.unexpected("TIMES"));
                }
            } else if self.eat_kw("START") {
                self.timestamp()?;
                if !self.eat_kw("STOP") {
                    return Err(self.unexpected("STOP"));
                }
                self.timestamp()?;
            } else {
                return Ok(());
            }
        }
    }

    fn number(&mut self, wanted: &str) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Lit(Literal::Int(_) | Literal::Float(_))) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.unexpected(wanted)),
        }
    }

    fn timestamp(&mut self) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Lit(Literal::Time(_))) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.unexpected("a timestamp t'...'")),
        }
    }

    fn comparison_or(&mut self) -> Result<(), PatternError> {
        self.comparison_and()?;
        while self.eat_kw("OR") {
            self.comparison_and()?;
        }
        Ok(())
    }

    fn comparison_and(&mut self) -> Result<(), PatternError> {
        self.prop_test()?;
        while self.eat_kw("AND") {
            self.prop_test()?;
        }
        Ok(())
    }

    fn prop_test(&mut self) -> Result<(), PatternError> {
        if self.eat(&Tok::LParen) {
            self.enter()?;
            self.comparison_or()?;
            self.expect(&Tok::RParen, "`)`")?;
            self.depth -= 1;
            return Ok(());
        }
        if self.eat_kw("EXISTS") {
            let (object_type, path) = self.object_path()?;
            self.out.push(Comparison { object_type, path, op: Op::Exists, negated: false, values: Vec::new() });
            return Ok(());
        }
        let (object_type, path) = self.object_path()?;
        let negated = self.eat_kw("NOT");
        let op = match self.peek() {
            Some(Tok::Cmp(op)) => *op,
            Some(Tok::Word(w)) => match w.as_str() {
                "IN" => Op::In,
                "LIKE" => Op::Like,
                "MATCHES" => Op::Matches,
                "ISSUBSET" => Op::IsSubset,
                "ISSUPERSET" => Op::IsSuperset,
                _ => return Err(self.unexpected("a comparison operator")),
            },
            _ => return Err(self.unexpected("a comparison operator")),
        };
        self.pos += 1;
        let values = if op == Op::In {
            self.set_literal()?
        } else {
            let lit = self.literal()?;
            if matches!(op, Op::Like | Op::Matches | Op::IsSubset | Op::IsSuperset) && !matches!(lit, Literal::Str(_)) {
                let offset = self.pos.checked_sub(1).and_then(|p| self.tokens.get(p)).map_or(0, |t| t.offset);
                return Err(self.err_at(offset, "expected a string literal"));
            }
            vec![lit]
        };
        self.out.push(Comparison { object_type, path, op, negated, values });
        Ok(())
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        match self.peek() {
            Some(Tok::Lit(l)) => {
                let l = l.clone();
                self.pos += 1;
                Ok(l)
            }
            _ => Err(self.unexpected("a literal")),
        }
    }

    fn set_literal(&mut self) -> Result<Vec<Literal>, PatternError> {
        self.expect(&Tok::LParen, "`(`")?;
        let mut values = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(values);
        }
        loop {
            values.push(self.literal()?);
            if self.eat(&Tok::RParen) {
                return Ok(values);
            }
            self.expect(&Tok::Comma, "`,` or `)`")?;
        }
    }

    /// `object-type:first(.key | [n] | [*])*`.
    fn object_path(&mut self) -> Result<(String, Vec<Step>), PatternError> {
        let object_type = match self.peek() {
            Some(Tok::Word(w)) if !is_keyword(w) => w.clone(),
            _ => return Err(self.unexpected("an object path")),
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "`:`")?;
        let mut path = vec![self.path_key()?];
        loop {
            if self.eat(&Tok::Dot) {
                path.push(self.path_key()?);
            } else if self.eat(&Tok::LBracket) {
                match self.peek() {
                    Some(Tok::Star | Tok::Lit(Literal::Int(_))) => self.pos += 1,
                    _ => return Err(self.unexpected("an index or `*`")),
                }
                self.expect(&Tok::RBracket, "`]`")?;
                path.push(Step::Index);
            } else {
                return Ok((object_type, path));
            }
        }
    }

    fn path_key(&mut self) -> Result<Step, PatternError> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let k = w.clone();
                self.pos += 1;
                Ok(Step::Key(k))
            }
            Some(Tok::Lit(Literal::Str(s))) => {
                let k = s.clone();
                self.pos += 1;
                Ok(Step::Key(k))
            }
            _ => Err(self.unexpected("a property name")),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "AND"
            | "OR"
            | "NOT"
            | "FOLLOWEDBY"
            | "LIKE"
            | "MATCHES"
            | "ISSUBSET"
            | "ISSUPERSET"
            | "EXISTS"
            | "IN"
            | "WITHIN"
            | "SECONDS"
            | "REPEATS"
            | "TIMES"
            | "START"
            | "STOP"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(p: &str) -> Vec<(String, Vec<String>, Op, Vec<Literal>)> {
        parse(p).unwrap().into_iter().map(|c| (c.object_type.clone(), c.keys(), c.op, c.values)).collect()
    }

    #[test]
    fn simple_equality() {
        let v = values("[ipv4-addr:value = '10.0.0.1']");
        assert_eq!(v, vec![("ipv4-addr".into(), vec!["value".into()], Op::Eq, vec![Literal::Str("10.0.0.1".into())])]);
    }

    #[test]
    fn quoted_path_and_escapes() {
        let c = parse(r"[file:hashes.'SHA-256' = 'a\'b\\c']").unwrap();
        assert_eq!(c[0].keys(), vec!["hashes", "sha-256"]);
        assert_eq!(c[0].values, vec![Literal::Str(r"a'b\c".into())]);
    }

    #[test]
    fn in_set_and_nesting() {
        let c =
            parse("([a:b IN ('x', 'y') AND (c:d = 1 OR e:f NOT != 'z')] OR [g:h[*].i = 'j']) FOLLOWEDBY [k:l = 'm']")
                .unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(c[0].op, Op::In);
        assert_eq!(c[0].values.len(), 2);
        assert_eq!(c[1].values, vec![Literal::Int("1".into())]);
        assert!(c[2].negated);
        assert_eq!(c[3].keys(), vec!["h", "i"]);
    }

    #[test]
    fn qualifiers_are_skipped() {
        let p = "[a:b = 'c'] REPEATS 5 TIMES WITHIN 180 SECONDS AND [d:e = 'f'] \
                 START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'";
        assert_eq!(parse(p).unwrap().len(), 2);
    }

    #[test]
    fn other_operators_and_literals() {
        let p = "[a:b LIKE 'x%' AND a:c MATCHES '^x' AND a:d ISSUBSET '10.0.0.0/8' AND a:e > 3.5 \
                 AND a:f = h'ff' AND a:g = b'AAA=' AND a:h = true AND EXISTS a:i AND a:j <= -2]";
        let ops: Vec<Op> = parse(p).unwrap().iter().map(|c| c.op).collect();
        assert_eq!(ops, vec![Op::Like, Op::Matches, Op::IsSubset, Op::Gt, Op::Eq, Op::Eq, Op::Eq, Op::Exists, Op::Le]);
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse("[ipv4-addr:value = '1.2.3.4'").unwrap_err();
        assert_eq!(e.offset, 28);
        let e = parse("[ipv4-addr:value '1.2.3.4']").unwrap_err();
        assert_eq!(e.offset, 17);
        let e = parse("[a:b = 'unterminated]").unwrap_err();
        assert_eq!(e.offset, 7);
        let e = parse("[a:b = 'x\\n']").unwrap_err();
        assert_eq!(e.offset, 9);
        assert!(parse("").is_err());
        assert!(parse("[a:b = 'c'] WITHIN SECONDS").is_err());
        assert!(parse("[a:b = 'c'] garbage").is_err());
    }

    #[test]
    fn never_panics_on_deep_or_odd_input() {
        let deep = "(".repeat(10_000) + "[a:b = 'c']" + &")".repeat(10_000);
        assert!(parse(&deep).is_err());
        for s in
            ["[", "]", "[a:", "[a:b", "[a:b =", "[a:b IN (", "[a:b IN ('x',", "t'", "[a:b = 'é'] ¤", "[a:b[", "-", "."]
        {
            let _ = parse(s);
        }
        let full = r"([file:hashes.'SHA-256' IN ('a\'b', 'c\\d') AND NOT x:y[*].z > -1.5] OR [u:v = h'ff']) \
                     REPEATS 2 TIMES FOLLOWEDBY [a:b = t'2020-01-01T00:00:00Z'] START t'2020' STOP t'2021'";
        assert!(parse(full).is_err(), "NOT before a path is not STIX");
        for (i, _) in full.char_indices() {
            let (head, tail) = full.split_at(i);
            let _ = parse(head);
            let _ = parse(tail);
        }
    }
}
