//! What each traced process's file descriptors refer to, as far as rules need it: which are
//! sockets (and of which family and type). Followed through socket, accept and dup, forgotten when
//! the number is reused by open (close is not traced; a reused number shows the old socket is gone),
//! copied to a forked child, dropped at exit.

use std::{collections::HashMap, sync::Arc};

use sandtrace_common::EventKind;

use crate::{
    event::{Event, EventData},
    model::FastMap,
};

/// Most sockets remembered per process (a flood of sockets beyond it is simply not followed).
const MAX_PER_PROCESS: usize = 1024;
/// Most processes with sockets remembered at once.
const MAX_PROCESSES: usize = 65_536;

/// Sockets by process and fd, as `family/type` (`inet/stream`).
#[derive(Debug, Default)]
pub(crate) struct Sockets {
    by_pid: FastMap<u32, HashMap<i64, Arc<str>>>,
}

impl Sockets {
    /// The socket `fd` of `pid` refers to now, if it is one this run saw created.
    pub(crate) fn of(&self, pid: u32, fd: i64) -> Option<&str> {
        self.by_pid.get(&pid)?.get(&fd).map(|s| &**s)
    }

    /// The socket an event is about: the one a socket call creates, or the one its fd names.
    pub(crate) fn subject(&self, ev: &Event) -> Option<String> {
        let EventData::Syscall(s) = &ev.data else {
            return None;
        };
        match ev.kind {
            EventKind::Socket => s.socket.as_ref().map(|k| format!("{}/{}", k.family, k.sock_type)),
            EventKind::Connect
            | EventKind::Bind
            | EventKind::Listen
            | EventKind::Accept
            | EventKind::SendTo
            | EventKind::Dup => s.fd.and_then(|fd| self.of(ev.pid, fd)).map(str::to_string),
            _ => None,
        }
    }

    /// Follows one event.
    pub(crate) fn observe(&mut self, ev: &Event) {
        match &ev.data {
            EventData::Fork {
                child_pid, thread, ..
            } => {
                if !*thread
                    && let Some(t) = self.by_pid.get(&ev.pid)
                    && self.by_pid.len() < MAX_PROCESSES
                {
                    let t = t.clone();
                    self.by_pid.insert(*child_pid, t);
                }
            }
            EventData::Exit { .. } => {
                if ev.tid == ev.pid {
                    self.by_pid.remove(&ev.pid);
                }
            }
            EventData::Exec { .. } => {}
            EventData::Syscall(s) => {
                if s.ret < 0 {
                    return;
                }
                let new_fd = s.ret;
                let what: Option<Arc<str>> = match ev.kind {
                    EventKind::Socket => s
                        .socket
                        .as_ref()
                        .map(|k| Arc::from(format!("{}/{}", k.family, k.sock_type))),
                    EventKind::Accept | EventKind::Dup => {
                        s.fd.and_then(|fd| self.by_pid.get(&ev.pid)?.get(&fd).cloned())
                    }
                    EventKind::Open | EventKind::MemfdCreate | EventKind::IoUringSetup | EventKind::Bpf => {
                        None
                    }
                    _ => return,
                };
                match what {
                    Some(w) => {
                        if !self.by_pid.contains_key(&ev.pid) && self.by_pid.len() >= MAX_PROCESSES {
                            return;
                        }
                        let t = self.by_pid.entry(ev.pid).or_default();
                        if t.len() < MAX_PER_PROCESS || t.contains_key(&new_fd) {
                            t.insert(new_fd, w);
                        }
                    }
                    None => {
                        // The number now names something else (bpf: only its fd-creating commands
                        // return a positive number that is an fd; a count is harmless here).
                        if let Some(t) = self.by_pid.get_mut(&ev.pid) {
                            t.remove(&new_fd);
                        }
                    }
                }
            }
        }
    }
}
