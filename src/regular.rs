//! Files the command can replace (the phase file, the URL file, the runner's `GITHUB_OUTPUT`):
//! opened without blocking, and used only when what was opened is a regular file. A FIFO or a
//! device put in a file's place would otherwise block the open (or the read) on rollout's one
//! thread, and with it the timeout, the signals and the final status. The type is checked on
//! what was opened, not on the path beforehand, so the command cannot swap it in between.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// `options` opened at `path` with `O_NONBLOCK` (and `O_NOCTTY`), refused unless it is a regular
/// file. `O_NONBLOCK` changes nothing for a regular file's reads and writes.
pub fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(io::Error::other(format!(
            "{} is not a regular file ({}), so rollout does not use it",
            path.display(),
            describe(kind)
        )))
    }
}

/// A regular file opened for reading.
pub fn open_read(path: &Path) -> io::Result<File> {
    open(path, OpenOptions::new().read(true))
}

/// At most `limit` bytes from the start of the regular file at `path`.
pub fn read_start(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_read(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn describe(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn fifo(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.unwrap().success());
        path
    }

    #[test]
    fn a_fifo_is_refused_at_once_for_reading_and_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = fifo(dir.path());
        let began = Instant::now();
        let e = open_read(&path).unwrap_err();
        assert!(
            e.to_string().contains("is not a regular file (a FIFO)"),
            "{e}"
        );
        // No reader: a non-blocking open for writing fails (ENXIO) rather than waiting.
        let e = open(&path, OpenOptions::new().append(true)).unwrap_err();
        assert!(!e.to_string().is_empty());
        assert!(read_start(&path, 10).is_err());
        assert!(began.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn devices_and_folders_are_refused_and_regular_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_start(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("(a device)"), "{e}");
        let e = read_start(dir.path(), 10).unwrap_err();
        assert!(!e.to_string().is_empty());
        let file = dir.path().join("url");
        std::fs::write(&file, "https://example.com/a-long-line").unwrap();
        assert_eq!(read_start(&file, 19).unwrap(), b"https://example.com");
        // A symlink to a regular file is that file.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_start(&link, 5).unwrap(), b"https");
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_start(&link, 5).is_err());
    }
}
