//! Finds kernel struct member offsets in the kernel's BTF (`/sys/kernel/btf/vmlinux`).
//!
//! Rust eBPF programs get no CO-RE relocations, so the probes read `task_struct` and `mm_struct`
//! fields at offsets the analyzer looks up here and passes in as globals.

use std::collections::HashMap;

use sandtrace_common::KernelOffsets;

/// Why the BTF could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Path read.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The data is not BTF or is cut short.
    #[error("malformed BTF: {0}")]
    Malformed(&'static str),
    /// A struct or member the probes need is not described.
    #[error("BTF has no member {0}")]
    Missing(String),
}

const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_TYPE_TAG: u32 = 18;

#[derive(Clone, Debug)]
struct Member {
    name_off: u32,
    type_id: u32,
    bit_offset: u32,
}

#[derive(Clone, Debug)]
struct Type {
    name_off: u32,
    kind: u32,
    /// Referenced type for modifiers and typedefs.
    type_ref: u32,
    members: Vec<Member>,
}

/// The parts of a BTF blob needed to find member offsets.
#[derive(Debug)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    structs_by_name: HashMap<String, u32>,
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, BtfError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(BtfError::Malformed("truncated"))
}

impl Btf {
    /// Reads and parses the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        let path = "/sys/kernel/btf/vmlinux";
        let data = std::fs::read(path).map_err(|source| BtfError::Read {
            path: path.into(),
            source,
        })?;
        Btf::parse(&data)
    }

    /// Parses little-endian BTF bytes.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        if data.len() < 24 || data[0..2] != [0x9f, 0xeb] {
            return Err(BtfError::Malformed("bad magic"));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let types_bytes = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed("type section out of range"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section out of range"))?
            .to_vec();
        // Type id 0 is void.
        let mut types = vec![Type {
            name_off: 0,
            kind: 0,
            type_ref: 0,
            members: Vec::new(),
        }];
        let mut off = 0usize;
        while off < types_bytes.len() {
            let name_off = u32_at(types_bytes, off)?;
            let info = u32_at(types_bytes, off + 4)?;
            let size_or_type = u32_at(types_bytes, off + 8)?;
            off += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let mut members = Vec::new();
            let extra = match kind {
                1 | 14 | 17 => 4, // int, var, decl_tag
                3 => 12,          // array
                KIND_STRUCT | KIND_UNION => {
                    for m in 0..vlen {
                        let base = off + m * 12;
                        let raw = u32_at(types_bytes, base + 8)?;
                        members.push(Member {
                            name_off: u32_at(types_bytes, base)?,
                            type_id: u32_at(types_bytes, base + 4)?,
                            bit_offset: if kind_flag { raw & 0x00ff_ffff } else { raw },
                        });
                    }
                    vlen * 12
                }
                6 | 13 => vlen * 8,   // enum, func_proto
                15 | 19 => vlen * 12, // datasec, enum64
                2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
                _ => return Err(BtfError::Malformed("unknown type kind")),
            };
            off += extra;
            types.push(Type {
                name_off,
                kind,
                type_ref: size_or_type,
                members,
            });
        }
        let mut btf = Btf {
            types,
            strings,
            structs_by_name: HashMap::new(),
        };
        for (id, t) in btf.types.iter().enumerate() {
            if t.kind == KIND_STRUCT && t.name_off != 0 {
                let name = btf.name(t.name_off).to_string();
                // Keep the first definition; duplicates are identical for our purpose.
                btf.structs_by_name.entry(name).or_insert(id as u32);
            }
        }
        Ok(btf)
    }

    fn name(&self, off: u32) -> &str {
        let start = off as usize;
        let Some(rest) = self.strings.get(start..) else {
            return "";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// Strips typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Option<&Type> {
        for _ in 0..32 {
            let t = self.types.get(id as usize)?;
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = t.type_ref,
                _ => return Some(t),
            }
        }
        None
    }

    /// Byte offset of `member` in struct `strukt`, looking inside anonymous structs and unions.
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let missing = || BtfError::Missing(format!("{strukt}.{member}"));
        let id = *self.structs_by_name.get(strukt).ok_or_else(missing)?;
        let t = self.types.get(id as usize).ok_or_else(missing)?;
        self.find_in(t, member, 0, 0)
            .map(|bits| bits / 8)
            .ok_or_else(missing)
    }

    fn find_in(&self, t: &Type, member: &str, base_bits: u32, depth: u32) -> Option<u32> {
        if depth > 8 {
            return None;
        }
        for m in &t.members {
            if m.name_off != 0 {
                if self.name(m.name_off) == member {
                    return Some(base_bits + m.bit_offset);
                }
            } else if let Some(inner) = self.resolve(m.type_id)
                && (inner.kind == KIND_STRUCT || inner.kind == KIND_UNION)
                && let Some(found) = self.find_in(inner, member, base_bits + m.bit_offset, depth + 1)
            {
                return Some(found);
            }
        }
        None
    }

    /// The offsets the probes use.
    pub fn kernel_offsets(&self) -> Result<KernelOffsets, BtfError> {
        Ok(KernelOffsets {
            task_real_parent: self.member_offset("task_struct", "real_parent")?,
            task_tgid: self.member_offset("task_struct", "tgid")?,
            task_pid: self.member_offset("task_struct", "pid")?,
            task_mm: self.member_offset("task_struct", "mm")?,
            task_exit_code: self.member_offset("task_struct", "exit_code")?,
            mm_arg_start: self.member_offset("mm_struct", "arg_start")?,
            mm_arg_end: self.member_offset("mm_struct", "arg_end")?,
            mm_env_start: self.member_offset("mm_struct", "env_start")?,
            mm_env_end: self.member_offset("mm_struct", "env_end")?,
            _pad: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob: `struct inner { int a; int b; }`, `struct outer { int x; struct { int y; }; }`.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0inner\0a\0b\0outer\0x\0y\0".to_vec();
        let s = |name: &str| -> u32 {
            let pos = strings
                .windows(name.len() + 2)
                .position(|w| w[0] == 0 && &w[1..=name.len()] == name.as_bytes() && w[name.len() + 1] == 0);
            pos.map(|p| p as u32 + 1).expect("name in table")
        };
        let mut t = Vec::new();
        let push = |t: &mut Vec<u8>, v: u32| t.extend_from_slice(&v.to_le_bytes());
        // 1: int
        push(&mut t, s("int"));
        push(&mut t, 1 << 24);
        push(&mut t, 4);
        push(&mut t, 32);
        // 2: struct inner { int a @0; int b @32 }
        push(&mut t, s("inner"));
        push(&mut t, (4 << 24) | 2);
        push(&mut t, 8);
        for (n, bits) in [("a", 0), ("b", 32)] {
            push(&mut t, s(n));
            push(&mut t, 1);
            push(&mut t, bits);
        }
        // 3: anonymous struct { int y @0 }
        push(&mut t, 0);
        push(&mut t, (4 << 24) | 1);
        push(&mut t, 4);
        push(&mut t, s("y"));
        push(&mut t, 1);
        push(&mut t, 0);
        // 4: struct outer { int x @0; <anon> @64 }
        push(&mut t, s("outer"));
        push(&mut t, (4 << 24) | 2);
        push(&mut t, 12);
        push(&mut t, s("x"));
        push(&mut t, 1);
        push(&mut t, 0);
        push(&mut t, 0);
        push(&mut t, 3);
        push(&mut t, 64);
        let mut out = Vec::new();
        out.extend_from_slice(&[0x9f, 0xeb, 1, 0]);
        out.extend_from_slice(&24u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&t);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn finds_direct_and_anonymous_members() {
        let btf = Btf::parse(&sample()).expect("parse");
        assert_eq!(btf.member_offset("inner", "b").expect("b"), 4);
        assert_eq!(btf.member_offset("outer", "x").expect("x"), 0);
        assert_eq!(btf.member_offset("outer", "y").expect("y"), 8);
        assert!(matches!(
            btf.member_offset("outer", "zz"),
            Err(BtfError::Missing(_))
        ));
        assert!(matches!(
            btf.member_offset("nope", "a"),
            Err(BtfError::Missing(_))
        ));
    }

    #[test]
    fn rejects_garbage_without_panic() {
        assert!(Btf::parse(b"").is_err());
        assert!(Btf::parse(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0]).is_err());
        let mut cut = sample();
        cut.truncate(40);
        assert!(Btf::parse(&cut).is_err());
    }

    #[test]
    fn running_kernel_offsets_when_available() {
        // Reading BTF needs no privilege; a kernel without BTF is reported by `sandtrace doctor`.
        let Ok(btf) = Btf::from_sys_fs() else { return };
        let off = btf.kernel_offsets().expect("task_struct and mm_struct members");
        assert!(off.task_tgid > 0 && off.task_mm > 0 && off.mm_arg_end > off.mm_arg_start);
    }
}
