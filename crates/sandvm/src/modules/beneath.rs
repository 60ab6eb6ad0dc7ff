//! Race-free reads of module files under a root directory.
//!
//! The root is opened once ([`RootDir::open`]); every read opens its path *relative to that
//! directory handle* and reads from the descriptor it opened, so there is no window between a
//! check and the open (a symlink swapped in after configuration cannot redirect the read).
//!
//! Policy: **no symlink is followed anywhere under the root**, whether it points inside or
//! outside (simplest to reason about, and what `openat2(RESOLVE_NO_SYMLINKS)` enforces). Only
//! regular files are read; FIFOs and devices are refused without blocking on them.
//!
//! Where the kernel has `openat2` (Linux 5.6+), one call with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` does it; otherwise (`ENOSYS`, or a seccomp
//! filter that answers `EPERM`) each component is opened with `openat(O_NOFOLLOW)` in turn.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Why a file under the root could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// No such file (or a path component is not a directory).
    NotFound,
    /// The path goes through a symlink, or would leave the root.
    Symlink,
    /// It exists but is not a regular file (a directory, FIFO, device, socket).
    NotAFile,
    /// Larger than the cap, in bytes.
    TooLarge(usize),
    /// Any other I/O failure (permissions, ...), with the system's message.
    Io(String),
}

/// A module root opened once as a directory handle.
#[derive(Debug)]
pub(crate) struct RootDir {
    fd: OwnedFd,
}

fn flags_dir() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn flags_file() -> OFlags {
    // NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY
}

fn map_errno(e: Errno) -> OpenError {
    match e {
        Errno::NOENT | Errno::NOTDIR => OpenError::NotFound,
        // ELOOP: a symlink met under RESOLVE_NO_SYMLINKS or O_NOFOLLOW; EXDEV: the path would
        // leave the root (RESOLVE_BENEATH).
        Errno::LOOP | Errno::XDEV => OpenError::Symlink,
        Errno::NXIO => OpenError::NotAFile,
        other => OpenError::Io(std::io::Error::from(other).to_string()),
    }
}

impl RootDir {
    /// Opens `dir` (the host's own configuration, so it may itself be reached through links).
    pub(crate) fn open(dir: &Path) -> std::io::Result<RootDir> {
        let fd = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(RootDir { fd })
    }

    /// Reads the regular file at `rel` (normal components joined by `/`, already checked by
    /// the caller) under the root, refusing symlinks and anything larger than `max` bytes.
    pub(crate) fn read(&self, rel: &str, max: usize) -> Result<Vec<u8>, OpenError> {
        let fd = self.open_file(rel)?;
        read_capped(fd, max)
    }

    fn open_file(&self, rel: &str) -> Result<OwnedFd, OpenError> {
        let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        loop {
            match rustix::fs::openat2(&self.fd, rel, flags_file(), Mode::empty(), how) {
                Ok(fd) => return Ok(fd),
                // The kernel saw a concurrent rename and refused to guess: try again.
                Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
                Err(Errno::NOSYS) | Err(Errno::PERM) => return self.open_walk(rel),
                Err(e) => return Err(map_errno(e)),
            }
        }
    }

    /// The fallback: one `openat(O_NOFOLLOW)` per component, directories with `O_DIRECTORY`.
    pub(crate) fn open_walk(&self, rel: &str) -> Result<OwnedFd, OpenError> {
        let parts: Vec<&str> = rel.split('/').collect();
        let Some((last, dirs)) = parts.split_last() else { return Err(OpenError::NotFound) };
        if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return Err(OpenError::Symlink);
        }
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let parent = cur.as_ref().unwrap_or(&self.fd);
            let next = match rustix::fs::openat(parent, *d, flags_dir(), Mode::empty()) {
                Ok(fd) => fd,
                // O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR: tell a link from a file
                // (only to classify the refusal; nothing is opened through it).
                Err(Errno::NOTDIR) => {
                    return Err(if is_link(parent, d) { OpenError::Symlink } else { OpenError::NotFound })
                }
                Err(e) => return Err(map_errno(e)),
            };
            cur = Some(next);
        }
        rustix::fs::openat(cur.as_ref().unwrap_or(&self.fd), *last, flags_file(), Mode::empty()).map_err(map_errno)
    }
}

fn is_link(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// Reads what `fd` refers to: a regular file of at most `max` bytes (checked on the descriptor
/// itself, then enforced while reading in case it grows).
fn read_capped(fd: OwnedFd, max: usize) -> Result<Vec<u8>, OpenError> {
    let st = rustix::fs::fstat(&fd).map_err(map_errno)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(OpenError::NotAFile);
    }
    if u64::try_from(st.st_size).unwrap_or(u64::MAX) > max as u64 {
        return Err(OpenError::TooLarge(max));
    }
    let mut out = Vec::new();
    let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    std::fs::File::from(fd).take(cap).read_to_end(&mut out).map_err(|e| OpenError::Io(e.to_string()))?;
    if out.len() > max {
        return Err(OpenError::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sandvm-beneath-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        d
    }

    /// Both paths (openat2 and the per-component walk) refuse links and keep to the root.
    #[test]
    fn walk_and_openat2_refuse_symlinks_and_specials() {
        let root = tempdir("walk");
        let outside = tempdir("walk-out");
        std::fs::write(root.join("sub/ok.js"), "ok").unwrap();
        std::fs::write(outside.join("secret.js"), "secret").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.js"), root.join("sub/out.js")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/ok.js"), root.join("sub/in.js")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("outdir")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        let fifo = root.join("sub/fifo.js");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: test-only call with a valid NUL-terminated path.
        let made_fifo = unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0;
        let dir = RootDir::open(&root).unwrap();
        assert_eq!(dir.read("sub/ok.js", 100).unwrap(), b"ok");
        assert_eq!(dir.read("sub/ok.js", 1), Err(OpenError::TooLarge(1)));
        assert_eq!(dir.read("sub/missing.js", 100), Err(OpenError::NotFound));
        assert_eq!(dir.read("sub", 100), Err(OpenError::NotAFile));
        for rel in ["sub/out.js", "sub/in.js", "outdir/secret.js", "loop", "loop/x.js"] {
            assert_eq!(dir.read(rel, 100), Err(OpenError::Symlink), "openat2 {rel}");
            assert_eq!(dir.open_walk(rel).map(drop), Err(OpenError::Symlink), "walk {rel}");
        }
        assert_eq!(dir.open_walk("sub/../sub/ok.js").map(drop), Err(OpenError::Symlink));
        let walked = dir.open_walk("sub/ok.js").unwrap();
        assert_eq!(read_capped(walked, 100).unwrap(), b"ok");
        if made_fifo {
            assert_eq!(dir.read("sub/fifo.js", 100), Err(OpenError::NotAFile));
            assert_eq!(read_capped(dir.open_walk("sub/fifo.js").unwrap(), 100), Err(OpenError::NotAFile));
        } else {
            eprintln!("skipping the FIFO case: mkfifo failed here");
        }
        std::fs::remove_dir_all(&root).ok();
        std::fs::remove_dir_all(&outside).ok();
    }
}
