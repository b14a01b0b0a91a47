//! The history's shell: writing the history file when the daemon stops and reading it back
//! when it starts (the format is `store`'s).

use super::store::MAX_FILE;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Write the file: a new one beside it, then renamed over it, so a reader never sees half
/// and a link planted at the temporary name is not followed.
pub fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(bytes)?;
    std::fs::rename(&tmp, path)
}

/// Read the file, if it is a regular file of our own user.
pub fn load(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = f.metadata()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me || meta.len() > MAX_FILE {
        return Err(std::io::Error::other("not a history file of this user"));
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE).read_to_end(&mut bytes)?;
    Ok(bytes)
}
