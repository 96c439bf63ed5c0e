//! Okta's SCIM-like `filter`/`search` expressions: `attr op "value"`, `pr`, `and`/`or`/`not`
//! and parentheses (operators case-insensitive, attribute names case-sensitive).

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp {
        attr: String,
        op: Op,
        value: Option<String>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Sw,
    Ew,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid expression: {0}")]
pub struct ParseError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
}

fn lex(s: &str) -> Result<Vec<Tok>, ParseError> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '"' {
            let mut v = String::new();
            i += 1;
            let mut closed = false;
            while i < cs.len() {
                if cs[i] == '\\' && i + 1 < cs.len() {
                    v.push(cs[i + 1]);
                    i += 2;
                } else if cs[i] == '"' {
                    closed = true;
                    i += 1;
                    break;
                } else {
                    v.push(cs[i]);
                    i += 1;
                }
            }
            if !closed {
                return Err(ParseError("unterminated string".into()));
            }
            out.push(Tok::Str(v));
        } else {
            let mut w = String::new();
            while i < cs.len()
                && !cs[i].is_whitespace()
                && cs[i] != '('
                && cs[i] != ')'
                && cs[i] != '"'
            {
                w.push(cs[i]);
                i += 1;
            }
            out.push(Tok::Word(w));
        }
    }
    Ok(out)
}

fn op_of(w: &str) -> Option<Op> {
    Some(match w.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "sw" => Op::Sw,
        "ew" => Op::Ew,
        "co" => Op::Co,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        "pr" => Op::Pr,
        _ => return None,
    })
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek_kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    return Err(ParseError("missing )".into()));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(attr)) => {
                self.pos += 1;
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(w)) => {
                        op_of(w).ok_or_else(|| ParseError(format!("unknown operator {w}")))?
                    }
                    _ => return Err(ParseError("missing operator".into())),
                };
                self.pos += 1;
                if op == Op::Pr {
                    return Ok(Expr::Cmp {
                        attr,
                        op,
                        value: None,
                    });
                }
                let value = match self.toks.get(self.pos) {
                    Some(Tok::Str(s)) => s.clone(),
                    Some(Tok::Word(w))
                        if w == "true"
                            || w == "false"
                            || w == "null"
                            || w.parse::<f64>().is_ok() =>
                    {
                        w.clone()
                    }
                    _ => return Err(ParseError("missing value".into())),
                };
                self.pos += 1;
                Ok(Expr::Cmp {
                    attr,
                    op,
                    value: Some(value),
                })
            }
            _ => Err(ParseError("unexpected token".into())),
        }
    }
}

pub fn parse(s: &str) -> Result<Expr, ParseError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Err(ParseError("empty".into()));
    }
    let mut p = P { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(ParseError("trailing tokens".into()));
    }
    Ok(e)
}

impl Expr {
    /// Every attribute and operator used, to check against what an endpoint supports.
    pub fn visit(&self, f: &mut dyn FnMut(&str, Op)) {
        match self {
            Expr::Cmp { attr, op, .. } => f(attr, *op),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Not(a) => a.visit(f),
        }
    }

    /// Evaluate with `get(attr)` returning the attribute's value as a string (None = absent).
    /// String comparisons are case-insensitive, like Okta's for logins and e-mails; values
    /// that parse as RFC 3339 timestamps compare as times.
    pub fn eval(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Expr::And(a, b) => a.eval(get) && b.eval(get),
            Expr::Or(a, b) => a.eval(get) || b.eval(get),
            Expr::Not(a) => !a.eval(get),
            Expr::Cmp { attr, op, value } => {
                let actual = get(attr);
                let Some(actual) = actual else {
                    return *op == Op::Ne;
                };
                let Some(v) = value else {
                    return !actual.is_empty();
                };
                let a = actual.to_lowercase();
                let b = v.to_lowercase();
                let ord = match (
                    chrono::DateTime::parse_from_rfc3339(&actual),
                    chrono::DateTime::parse_from_rfc3339(v),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.cmp(&b),
                };
                match op {
                    Op::Eq => ord.is_eq(),
                    Op::Ne => !ord.is_eq(),
                    Op::Sw => a.starts_with(&b),
                    Op::Ew => a.ends_with(&b),
                    Op::Co => a.contains(&b),
                    Op::Gt => ord.is_gt(),
                    Op::Ge => ord.is_ge(),
                    Op::Lt => ord.is_lt(),
                    Op::Le => ord.is_le(),
                    Op::Pr => true,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let e = parse(
            r#"profile.email eq "A@x.example" and (status eq "ACTIVE" or status eq "SUSPENDED")"#,
        )
        .unwrap();
        let get = |a: &str| match a {
            "profile.email" => Some("a@X.example".to_string()),
            "status" => Some("SUSPENDED".to_string()),
            _ => None,
        };
        assert!(e.eval(&get));
        assert!(!parse(r#"status eq "ACTIVE""#).unwrap().eval(&get));
        assert!(parse(r#"lastUpdated gt "2020-01-01T00:00:00.000Z""#).is_ok());
        assert!(parse("status eq").is_err());
        assert!(parse(r#"status xx "A""#).is_err());
        assert!(parse(r#"(status eq "A""#).is_err());
    }
}
