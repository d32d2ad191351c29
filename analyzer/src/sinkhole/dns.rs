//! DNS wire format for the sinkhole's fake resolver: parse the first question of a query, build an
//! answer. Input comes from the sample: every length is checked, compression is bounded, malformed
//! messages are errors, never panics.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A parsed DNS question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Transaction id.
    pub id: u16,
    /// Header flags as sent.
    pub flags: u16,
    /// The name, lowercased, without the trailing dot; bytes outside `[a-z0-9-_]` escaped as `\DDD`.
    pub name: String,
    /// Query type (1 = A, 28 = AAAA, ...).
    pub qtype: u16,
    /// Query class (1 = IN).
    pub qclass: u16,
    /// End of the question section (where answers start).
    pub question_end: usize,
}

/// Why a message is not a query we answer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// Shorter than its own structure says.
    #[error("message too short")]
    Short,
    /// A response, or an opcode other than QUERY.
    #[error("not a standard query")]
    NotAQuery,
    /// No question.
    #[error("no question")]
    NoQuestion,
    /// A bad name.
    #[error("bad name: {0}")]
    BadName(&'static str),
}

fn be16(msg: &[u8], at: usize) -> Result<u16, DnsError> {
    let b = msg.get(at..at + 2).ok_or(DnsError::Short)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

/// Parses the first question of a query.
pub fn parse_query(msg: &[u8]) -> Result<Query, DnsError> {
    let id = be16(msg, 0)?;
    let flags = be16(msg, 2)?;
    let qdcount = be16(msg, 4)?;
    if msg.len() < 12 {
        return Err(DnsError::Short);
    }
    if flags & 0x8000 != 0 || (flags >> 11) & 0xf != 0 {
        return Err(DnsError::NotAQuery);
    }
    if qdcount == 0 {
        return Err(DnsError::NoQuestion);
    }
    let mut name = String::new();
    let mut pos = 12usize;
    // Where parsing continues after the name (set at the first compression pointer).
    let mut end = None;
    let mut jumps = 0;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Short)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    pos += 1;
                    break;
                }
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(DnsError::Short)?;
                total += usize::from(len) + 1;
                if total > 255 {
                    return Err(DnsError::BadName("longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    let b = b.to_ascii_lowercase();
                    if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                        name.push(char::from(b));
                    } else {
                        name.push_str(&format!("\\{b:03}"));
                    }
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let target = usize::from(be16(msg, pos)? & 0x3fff);
                if target >= pos {
                    return Err(DnsError::BadName("forward compression pointer"));
                }
                jumps += 1;
                if jumps > 16 {
                    return Err(DnsError::BadName("compression loop"));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(DnsError::BadName("reserved label type")),
        }
    }
    let qpos = end.unwrap_or(pos);
    let qtype = be16(msg, qpos)?;
    let qclass = be16(msg, qpos + 2)?;
    Ok(Query {
        id,
        flags,
        name,
        qtype,
        qclass,
        question_end: qpos + 4,
    })
}

/// The answer to `q`: A or AAAA with the given addresses, NODATA for other types.
pub fn answer(msg: &[u8], q: &Query, v4: Ipv4Addr, v6: Ipv6Addr, ttl: u32) -> Vec<u8> {
    let question = msg.get(12..q.question_end).unwrap_or(&[]);
    let rdata: Option<Vec<u8>> = match (q.qtype, q.qclass) {
        (1, 1) => Some(v4.octets().to_vec()),
        (28, 1) => Some(v6.octets().to_vec()),
        _ => None,
    };
    let flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080;
    let mut out = Vec::with_capacity(12 + question.len() + 28);
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::from(rdata.is_some()).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    if let Some(rdata) = rdata {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// FORMERR for a message whose header could be read but not its question.
pub fn format_error(msg: &[u8]) -> Option<Vec<u8>> {
    let id = be16(msg, 0).ok()?;
    let flags = be16(msg, 2).ok()?;
    if msg.len() < 12 || flags & 0x8000 != 0 {
        return None;
    }
    let reply = 0x8000 | (flags & 0x0100) | 0x0080 | 1;
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&u16::to_be_bytes(reply));
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// Name of a query type.
pub fn type_name(qtype: u16) -> String {
    match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        10 => "NULL",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        64 => "SVCB",
        65 => "HTTPS",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{qtype}"),
    }
    .to_string()
}

/// Splits one length-prefixed message (DNS over TCP) from a buffer.
pub fn split_tcp(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::from(u16::from_be_bytes([*buf.first()?, *buf.get(1)?]));
    let msg = buf.get(2..2 + len)?;
    Some((msg, buf.get(2 + len..).unwrap_or(&[])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            m.push(u8::try_from(l.len()).unwrap_or(0));
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn a_and_aaaa_are_answered_and_others_get_nodata() {
        let m = query("Evil.Example.COM", 1);
        let q = parse_query(&m).expect("query");
        assert_eq!((q.name.as_str(), q.qtype, q.id), ("evil.example.com", 1, 0x1234));
        let a = answer(&m, &q, Ipv4Addr::new(198, 18, 0, 1), Ipv6Addr::LOCALHOST, 60);
        assert_eq!(&a[2..4], &[0x85, 0x80]);
        assert_eq!(&a[6..8], &[0, 1]);
        assert_eq!(&a[a.len() - 4..], &[198, 18, 0, 1]);
        let m6 = query("x.org", 28);
        let q6 = parse_query(&m6).expect("aaaa");
        assert_eq!(
            answer(&m6, &q6, Ipv4Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 1).len(),
            m6.len() + 28
        );
        let mt = query("x.org", 16);
        let qt = parse_query(&mt).expect("txt");
        let t = answer(&mt, &qt, Ipv4Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 1);
        assert_eq!(&t[6..8], &[0, 0]);
        assert_eq!(type_name(16), "TXT");
        assert_eq!(type_name(999), "TYPE999");
    }

    #[test]
    fn hostile_messages_are_errors_not_panics() {
        let m = query("a.b", 1);
        for n in 0..m.len() {
            assert!(parse_query(&m[..n]).is_err());
        }
        let mut lp = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12];
        lp.extend_from_slice(&[0, 1, 0, 1]);
        assert!(parse_query(&lp).is_err(), "self pointer");
        let mut resp = query("a.b", 1);
        resp[2] |= 0x80;
        assert_eq!(parse_query(&resp), Err(DnsError::NotAQuery));
        let odd = query("a\u{0}b", 1);
        assert!(parse_query(&odd).expect("odd").name.contains("\\000"));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut buf = m.clone();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = usize::try_from(x % buf.len() as u64).unwrap_or(0);
                buf[i] = (x >> 24) as u8;
            }
            let len = usize::try_from((x >> 40) % (buf.len() as u64 + 1)).unwrap_or(0);
            let _ = parse_query(&buf[..len]);
            let _ = format_error(&buf[..len]);
        }
        assert_eq!(format_error(&[1, 2]), None);
        assert_eq!(format_error(&m).map(|r| r[3] & 0xf), Some(1));
    }

    #[test]
    fn tcp_messages_are_split() {
        assert_eq!(split_tcp(&[0, 2, 7, 8, 9]), Some((&[7u8, 8][..], &[9u8][..])));
        assert_eq!(split_tcp(&[0, 3, 7]), None);
        assert_eq!(split_tcp(&[0]), None);
    }
}
