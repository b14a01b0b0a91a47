//! import-mwan3's shell: reading mwan3's and netifd's files, writing rail's.

pub(super) mod cli;
