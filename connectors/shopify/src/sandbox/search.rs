//! Shopify's search syntax (the `query:` argument), the part the connector uses:
//!
//! * terms `field:value`, with comparators `field:>value`, `>=`, `<`, `<=` for times;
//!   values bare or quoted (`'…'` or `"…"`); a bare word searches the default fields;
//! * implicit AND between terms, `AND`, `OR` (binding looser than AND), `NOT` or a leading
//!   `-` to negate, and parentheses;
//! * times as RFC 3339, a date (`2024-01-01`, midnight UTC), a year, or `now`.
//!
//! Values are compared case-insensitively; a comma list (`status:ACTIVE,DRAFT`) matches
//! any of its values. Unknown fields match nothing.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Term {
        field: Option<String>,
        op: Op,
        value: String,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// What a searchable record answers.
pub trait Searchable {
    /// `None` when the record has no such field.
    fn field(&self, name: &str) -> Option<Field>;
    /// Text searched by a bare word.
    fn default_text(&self) -> String;
}

pub enum Field {
    Text(Vec<String>),
    Time(i64),
    Number(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Minus,
    Word(String),
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == '-' && out.last() != Some(&Tok::Minus) {
            out.push(Tok::Minus);
            i += 1;
        } else {
            let mut word = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' && chars[i] != '('
            {
                let c = chars[i];
                if c == '\'' || c == '"' {
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err("unterminated quote in query".into()),
                            Some('\\') => {
                                if let Some(n) = chars.get(i + 1) {
                                    word.push(*n);
                                }
                                i += 2;
                            }
                            Some(q) if *q == c => {
                                i += 1;
                                break;
                            }
                            Some(x) => {
                                word.push(*x);
                                i += 1;
                            }
                        }
                    }
                } else {
                    word.push(c);
                    i += 1;
                }
            }
            out.push(Tok::Word(word));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while matches!(self.peek(), Some(Tok::Word(w)) if w == "OR") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Close) => break,
                Some(Tok::Word(w)) if w == "OR" => break,
                Some(Tok::Word(w)) if w == "AND" => {
                    self.pos += 1;
                }
                _ => parts.push(self.unary()?),
            }
        }
        if parts.is_empty() {
            return Err("empty query expression".into());
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Word(w)) if w == "NOT" => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err("unbalanced parentheses in query".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                Ok(term(&w))
            }
            Some(Tok::Close) | None => Err("unexpected end of query".into()),
        }
    }
}

fn term(w: &str) -> Expr {
    let Some((field, rest)) = w.split_once(':') else {
        return Expr::Term {
            field: None,
            op: Op::Eq,
            value: w.to_owned(),
        };
    };
    let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Eq, rest.strip_prefix('=').unwrap_or(rest))
    };
    // A quoted value arrives with its quotes already removed by the tokenizer.
    Expr::Term {
        field: Some(field.to_ascii_lowercase()),
        op,
        value: value.to_owned(),
    }
}

pub fn parse(q: &str) -> Result<Option<Expr>, String> {
    let toks = tokenize(q)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err("unbalanced parentheses in query".into());
    }
    Ok(Some(e))
}

/// A time value as Unix seconds: RFC 3339, a date, a year, or `now`.
pub fn parse_time(v: &str, now: i64) -> Option<i64> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc).timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    if v.len() == 4 {
        let y: i32 = v.parse().ok()?;
        return Some(
            NaiveDate::from_ymd_opt(y, 1, 1)?
                .and_hms_opt(0, 0, 0)?
                .and_utc()
                .timestamp(),
        );
    }
    None
}

fn compare(a: i64, op: Op, b: i64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Lt => a < b,
        Op::Le => a <= b,
    }
}

pub fn matches(e: &Expr, r: &dyn Searchable, now: i64) -> bool {
    match e {
        Expr::Not(inner) => !matches(inner, r, now),
        Expr::And(parts) => parts.iter().all(|p| matches(p, r, now)),
        Expr::Or(parts) => parts.iter().any(|p| matches(p, r, now)),
        Expr::Term {
            field: None, value, ..
        } => r
            .default_text()
            .to_lowercase()
            .contains(&value.to_lowercase()),
        Expr::Term {
            field: Some(f),
            op,
            value,
        } => match r.field(f) {
            None => false,
            Some(Field::Text(have)) => {
                let wanted: Vec<String> =
                    value.split(',').map(|v| v.trim().to_lowercase()).collect();
                have.iter().any(|h| {
                    let h = h.to_lowercase();
                    wanted.iter().any(|w| w == "*" || *w == h)
                })
            }
            Some(Field::Time(t)) => match parse_time(value, now) {
                // A bare date or year means that whole day (or year) for `:`.
                Some(b) if *op == Op::Eq && !value.contains('T') => {
                    let span = if value.len() == 4 {
                        366 * 86_400
                    } else {
                        86_400
                    };
                    t >= b && t < b + span
                }
                Some(b) => compare(t, *op, b),
                None => false,
            },
            Some(Field::Number(n)) => value.parse::<i64>().is_ok_and(|b| compare(n, *op, b)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R;
    impl Searchable for R {
        fn field(&self, name: &str) -> Option<Field> {
            match name {
                "status" => Some(Field::Text(vec!["open".into()])),
                "financial_status" => Some(Field::Text(vec!["paid".into()])),
                "created_at" => Some(Field::Time(1_700_000_000)),
                _ => None,
            }
        }
        fn default_text(&self) -> String {
            "Zoë Müller".into()
        }
    }

    fn ok(q: &str) -> bool {
        matches(&parse(q).unwrap().unwrap(), &R, 1_800_000_000)
    }

    #[test]
    fn syntax() {
        assert!(ok("status:open"));
        assert!(!ok("-status:open"));
        assert!(ok(
            "status:open (financial_status:pending OR financial_status:paid)"
        ));
        assert!(!ok("status:open AND NOT financial_status:paid"));
        assert!(ok(
            "created_at:>='2023-11-14T00:00:00Z' created_at:<=2023-11-15"
        ));
        assert!(!ok("created_at:>'2023-11-14T22:13:20Z'"));
        assert!(ok("created_at:<now"));
        assert!(ok("status:closed,open"));
        assert!(ok("müller"));
        assert!(!ok("unknown_field:x"));
        assert!(parse("(status:open").is_err());
        assert!(parse("'x").is_err());
        assert_eq!(parse("  ").unwrap(), None);
    }
}
