//! The server name (SNI) of a TLS ClientHello: the domain a client asked for, readable even though
//! the rest of the connection is encrypted (most downloads and C2 are HTTPS).

/// A bounds-checked reader over a byte slice.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    /// A block with a length prefix of `width` bytes.
    fn block(&mut self, width: usize) -> Option<Cursor<'a>> {
        let n = match width {
            1 => self.u8()?,
            2 => self.u16()?,
            _ => self.u24()?,
        };
        self.take(n).map(|b| Cursor { b })
    }
}

/// Most bytes of a name kept (DNS names are at most 253).
const MAX_NAME: usize = 253;

/// The host name of the first `server_name` extension of a ClientHello at the start of `first`
/// (a TLS record). A record cut short (the sinkhole keeps the first bytes only) still yields the
/// name when it lies within them. Only host-name characters are accepted.
pub fn client_hello_sni(first: &[u8]) -> Option<String> {
    let mut rec = Cursor { b: first };
    if rec.u8()? != 0x16 {
        return None;
    }
    rec.take(2)?; // record version
    let _record_len = rec.u16()?;
    if rec.u8()? != 0x01 {
        return None; // not a ClientHello
    }
    let _hs_len = rec.u24()?;
    rec.take(2 + 32)?; // client version, random
    rec.block(1)?; // session id
    rec.block(2)?; // cipher suites
    rec.block(1)?; // compression methods
    // Extensions: the block may be cut short by the capture; read what is there.
    let declared = rec.u16()?;
    let mut ext = Cursor {
        b: &rec.b[..declared.min(rec.b.len())],
    };
    while let (Some(kind), Some(mut body)) = (ext.u16(), ext.block(2)) {
        if kind != 0 {
            continue;
        }
        let mut list = body.block(2)?;
        while let Some(name_type) = list.u8() {
            let name = list.block(2)?;
            if name_type == 0 {
                let host = name.b;
                if host.is_empty()
                    || host.len() > MAX_NAME
                    || !host
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
                {
                    return None;
                }
                return Some(String::from_utf8_lossy(host).to_ascii_lowercase());
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::client_hello_sni;

    /// A minimal ClientHello with a server_name extension (and one before it).
    fn hello(host: &[u8]) -> Vec<u8> {
        let mut sni = Vec::new();
        let entry_len = 3 + host.len();
        sni.extend_from_slice(&(entry_len as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
        sni.extend_from_slice(host);
        let mut exts = Vec::new();
        exts.extend_from_slice(&[0x00, 0x17, 0x00, 0x00]); // extended master secret, empty
        exts.extend_from_slice(&[0x00, 0x00]);
        exts.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sni);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0x00, 0x02, 0x13, 0x01]); // one cipher suite
        body.extend_from_slice(&[0x01, 0x00]); // null compression
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![0x01];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn the_server_name_of_a_client_hello() {
        assert_eq!(
            client_hello_sni(&hello(b"Paste.Example.test")).as_deref(),
            Some("paste.example.test")
        );
        // Cut after the name: still found; cut inside it: nothing.
        let h = hello(b"c2.example.test");
        assert_eq!(
            client_hello_sni(&h[..h.len()]).as_deref(),
            Some("c2.example.test")
        );
        assert_eq!(client_hello_sni(&h[..h.len() - 4]), None);
        // Not TLS, not a ClientHello, hostile bytes: nothing, never a panic.
        assert_eq!(client_hello_sni(b"GET / HTTP/1.1\r\n"), None);
        let mut server_hello = h.clone();
        server_hello[5] = 0x02;
        assert_eq!(client_hello_sni(&server_hello), None);
        assert_eq!(client_hello_sni(&hello(b"bad\nname")), None);
        for n in 0..h.len() {
            let _ = client_hello_sni(&h[..n]);
        }
        let mut junk = h.clone();
        for b in junk.iter_mut().skip(9) {
            *b = 0xff;
        }
        let _ = client_hello_sni(&junk);
    }
}
