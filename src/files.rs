//! Owner-only files: everything azpath writes (the database, reports, JSON, diagrams, the raw
//! archive) maps a tenant's weak points, so on Unix it is created readable by its owner only
//! (files 0600, directories 0700), whatever the umask says. Elsewhere the platform's defaults apply.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Permission bits of an owner-only file.
pub const FILE_MODE: u32 = 0o600;
/// Permission bits of an owner-only directory.
pub const DIR_MODE: u32 = 0o700;

/// Creates `path` (which must not exist) owner-only, for writing.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    owner_only(&mut options);
    options.open(path)
}

/// Creates or truncates `path` and writes `bytes`. A new file is created owner-only; an existing
/// regular file is tightened to owner-only first, since what it will hold is azpath's. Devices and
/// pipes (`/dev/stdout`) are written as they are.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = create(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Creates or truncates `path` for writing, as [`write`] does, for output written in pieces.
pub fn create(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    owner_only(&mut options);
    if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        tighten(path)?;
    }
    options.open(path)
}

/// Creates `dir` and any missing parents, owner-only (existing directories are left as they are:
/// they may be shared folders the user chose).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)
}

/// Makes an existing file owner-only if others could read or write it. Returns whether it changed
/// anything (`false` for a missing file, a private one, or off Unix).
pub fn tighten(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700 | FILE_MODE))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

fn owner_only(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    #[cfg(not(unix))]
    let _ = options;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_and_directories_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), DIR_MODE);
        assert_eq!(mode(&dir), DIR_MODE);
        write(&dir.join("report.json"), b"{}").unwrap();
        assert_eq!(mode(&dir.join("report.json")), FILE_MODE);
        create_new(&dir.join("new")).unwrap();
        assert_eq!(mode(&dir.join("new")), FILE_MODE);
    }

    #[test]
    fn an_existing_readable_file_is_tightened_when_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("old.md");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(mode(&path), FILE_MODE);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(!tighten(&path).unwrap(), "already private");
        assert!(!tighten(&tmp.path().join("missing")).unwrap());
    }
}
