//! The phase file: created empty for the command (`ROLLOUT_PHASE_FILE`), and read as it grows.
//! The command owns it and may do anything to it: a truncated or recreated file is read again
//! from its start, a deleted one gives no phases until it is back, and nothing it holds (bytes
//! that are not UTF-8, a line of megabytes) is an error or costs more than a bounded read.
//! Reads are plain reads of a small local file, at most 256 KiB a look: cheaper than a trip
//! through tokio's blocking pool four times a second. They never block: the file is opened with
//! `O_NONBLOCK` and read only when what was opened is a regular file (a FIFO or a device in its
//! place gives no phases, see [`crate::regular`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The variable that names the phase file to the command.
pub const PHASE_FILE_VARIABLE: &str = "ROLLOUT_PHASE_FILE";

/// Bytes kept of one line: a phase is at most 140 characters (560 bytes of UTF-8), so the rest of
/// a longer line is cut off anyway and never held.
const MAX_LINE_BYTES: usize = 1024;

/// Bytes kept of what was read last, to see whether the command rewrote the file (`echo x >
/// "$ROLLOUT_PHASE_FILE"`) to the same length or longer, which neither its size nor its inode shows.
const FINGERPRINT_BYTES: usize = 64;

/// Bytes read at one look: a command that writes the file faster than it is read is caught up
/// with over the next looks, never held in memory at once.
const MAX_READ_BYTES: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("could not create the phase file {}: {source}", path.display())]
pub struct PhaseFileError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// The file a command appends its phases to, in a folder of its own that goes when this does.
#[derive(Debug)]
pub struct PhaseFile {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl PhaseFile {
    /// An empty phase file in a new temporary folder.
    pub fn create() -> Result<PhaseFile, PhaseFileError> {
        let dir = tempfile::Builder::new()
            .prefix("rollout-phases-")
            .tempdir()
            .map_err(|source| PhaseFileError {
                path: std::env::temp_dir(),
                source,
            })?;
        let mut file = PhaseFile::create_in(dir.path())?;
        file._dir = Some(dir);
        Ok(file)
    }

    /// An empty phase file in `dir` (the deploy's scratch folder, which outlives it).
    pub fn create_in(dir: &Path) -> Result<PhaseFile, PhaseFileError> {
        let path = dir.join("phases");
        File::create(&path).map_err(|source| PhaseFileError {
            path: path.clone(),
            source,
        })?;
        Ok(PhaseFile { path, _dir: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variable to give the command.
    pub fn variable(&self) -> (String, String) {
        (
            PHASE_FILE_VARIABLE.to_string(),
            self.path.display().to_string(),
        )
    }

    /// A reader of the lines appended from now on (the file is empty when created).
    pub fn tail(&self) -> PhaseTail {
        PhaseTail::new(&self.path)
    }
}

/// Reads the lines appended to a file since the last look.
#[derive(Debug)]
pub struct PhaseTail {
    path: PathBuf,
    offset: u64,
    /// The file's device and inode at the last look: another means the command recreated it.
    identity: Option<(u64, u64)>,
    /// The bytes of a line whose end is not written yet.
    partial: Vec<u8>,
    /// The last bytes read, which end at `offset`.
    fingerprint: Vec<u8>,
    /// Said once each: the log notes what the command did to the file, not every look at it.
    noted_missing: bool,
    noted_unreadable: bool,
}

impl PhaseTail {
    pub fn new(path: &Path) -> PhaseTail {
        PhaseTail {
            path: path.to_path_buf(),
            offset: 0,
            identity: None,
            partial: Vec::new(),
            fingerprint: Vec::new(),
            noted_missing: false,
            noted_unreadable: false,
        }
    }

    /// The complete lines appended since the last look, read lossily.
    pub fn poll(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        self.read(&mut lines);
        lines
    }

    /// The last look, once the command ended: a last line without its line break counts too.
    pub fn finish(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        self.read(&mut lines);
        if !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&self.partial).into_owned());
            self.partial.clear();
        }
        lines
    }

    fn read(&mut self, lines: &mut Vec<String>) {
        // Without blocking, and only a regular file: the command may put a FIFO in its place.
        let mut file = match crate::regular::open_read(&self.path) {
            Ok(file) => file,
            Err(e) => {
                self.lost(&e);
                return;
            }
        };
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                self.lost(&e);
                return;
            }
        };
        let identity = (meta.dev(), meta.ino());
        if self.identity.is_some_and(|known| known != identity) {
            tracing::debug!(
                "the command replaced the phase file; reading the new one from its start"
            );
            self.start_over();
        } else if meta.len() < self.offset || !self.still_there(&mut file) {
            tracing::debug!(
                "the command truncated or rewrote the phase file; reading it from its start"
            );
            self.start_over();
        }
        self.identity = Some(identity);
        self.noted_missing = false;
        if meta.len() == self.offset {
            return;
        }
        if let Err(e) = file.seek(SeekFrom::Start(self.offset)) {
            self.unreadable(&e);
            return;
        }
        let mut chunk = Vec::new();
        match file.take(MAX_READ_BYTES).read_to_end(&mut chunk) {
            Ok(n) => self.offset += n as u64,
            Err(e) => {
                self.unreadable(&e);
                return;
            }
        }
        let keep = chunk.len().min(FINGERPRINT_BYTES);
        let old = (FINGERPRINT_BYTES - keep).min(self.fingerprint.len());
        self.fingerprint.drain(..self.fingerprint.len() - old);
        self.fingerprint
            .extend_from_slice(&chunk[chunk.len() - keep..]);
        for &byte in &chunk {
            if byte == b'\n' {
                lines.push(String::from_utf8_lossy(&self.partial).into_owned());
                self.partial.clear();
            } else if self.partial.len() < MAX_LINE_BYTES {
                self.partial.push(byte);
            }
        }
    }

    fn start_over(&mut self) {
        self.offset = 0;
        self.partial.clear();
        self.fingerprint.clear();
    }

    /// Whether the bytes read last are still where they were.
    fn still_there(&self, file: &mut File) -> bool {
        if self.fingerprint.is_empty() {
            return true;
        }
        let mut now = vec![0; self.fingerprint.len()];
        file.seek(SeekFrom::Start(self.offset - self.fingerprint.len() as u64))
            .and_then(|_| file.read_exact(&mut now))
            .is_ok_and(|()| now == self.fingerprint)
    }

    /// The file is gone (or cannot be opened): no phases until it is back, and then from its
    /// start, since whatever is there was written anew.
    fn lost(&mut self, e: &io::Error) {
        if e.kind() == io::ErrorKind::NotFound {
            if !self.noted_missing {
                tracing::debug!(
                    "the phase file is gone; no phases until the command writes it again"
                );
                self.noted_missing = true;
            }
        } else {
            self.unreadable(e);
        }
        self.identity = None;
        self.start_over();
    }

    fn unreadable(&mut self, e: &io::Error) {
        if !self.noted_unreadable {
            tracing::info!(
                "could not read the phase file {} ({e}); the deploy goes on without phases from it",
                self.path.display()
            );
            self.noted_unreadable = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn appended_lines_come_once_and_a_partial_line_waits_for_its_end() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        assert!(tail.poll().is_empty(), "an empty file has no lines");
        append(file.path(), b"Building\nPush");
        assert_eq!(tail.poll(), ["Building"]);
        assert!(tail.poll().is_empty());
        append(file.path(), b"ing\n\nRolling out");
        assert_eq!(tail.poll(), ["Pushing", ""]);
        assert_eq!(tail.finish(), ["Rolling out"]);
    }

    #[test]
    fn a_truncated_file_is_read_from_its_start() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        append(file.path(), b"Building image\nPushing\n");
        assert_eq!(tail.poll().len(), 2);
        std::fs::write(file.path(), b"Migrating\n").unwrap();
        assert_eq!(tail.poll(), ["Migrating"]);
    }

    #[test]
    fn a_file_rewritten_to_the_same_length_or_longer_is_read_from_its_start() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        std::fs::write(file.path(), b"Building\n").unwrap();
        assert_eq!(tail.poll(), ["Building"]);
        std::fs::write(file.path(), b"Pushing!\n").unwrap();
        assert_eq!(tail.poll(), ["Pushing!"]);
        std::fs::write(file.path(), b"Migrating database\n").unwrap();
        assert_eq!(tail.poll(), ["Migrating database"]);
        append(file.path(), b"Smoke test\n");
        assert_eq!(
            tail.poll(),
            ["Smoke test"],
            "an append after a rewrite reads on"
        );
    }

    #[test]
    fn a_recreated_file_is_read_from_its_start_even_when_longer() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        append(file.path(), b"one\n");
        assert_eq!(tail.poll(), ["one"]);
        std::fs::remove_file(file.path()).unwrap();
        assert!(
            tail.poll().is_empty(),
            "a deleted file gives nothing, and no error"
        );
        // Longer than what was read before: only the new inode tells it apart.
        append(file.path(), b"two\nthree\n");
        assert_eq!(tail.poll(), ["two", "three"]);
    }

    #[test]
    fn a_file_replaced_between_looks_is_noticed_by_its_inode() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        append(file.path(), b"one\n");
        assert_eq!(tail.poll(), ["one"]);
        let other = file.path().with_extension("new");
        std::fs::write(&other, b"uno\ndos\n").unwrap();
        std::fs::rename(&other, file.path()).unwrap();
        assert_eq!(tail.poll(), ["uno", "dos"]);
    }

    #[test]
    fn invalid_utf8_is_read_lossily_and_long_lines_are_bounded() {
        let file = PhaseFile::create().unwrap();
        let mut tail = file.tail();
        let mut bytes = b"Build \xff\xfe image\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
        bytes.push(b'\n');
        append(file.path(), &bytes);
        let mut lines = Vec::new();
        for _ in 0..10 {
            lines.extend(tail.poll());
        }
        assert_eq!(lines.len(), 2, "a megabyte line is read over several looks");
        assert_eq!(lines[0], "Build \u{fffd}\u{fffd} image");
        assert_eq!(lines[1].len(), MAX_LINE_BYTES);
    }

    #[test]
    fn a_missing_file_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut tail = PhaseTail::new(&dir.path().join("never"));
        assert!(tail.poll().is_empty());
        assert!(tail.finish().is_empty());
    }

    #[test]
    fn the_file_is_created_empty_and_named_to_the_command() {
        let file = PhaseFile::create().unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"");
        let (name, value) = file.variable();
        assert_eq!(name, "ROLLOUT_PHASE_FILE");
        assert_eq!(Path::new(&value), file.path());
        let dir = file.path().parent().unwrap().to_path_buf();
        drop(file);
        assert!(!dir.exists(), "its folder goes with it");
    }
}
