//! config's shell: reading the file.

pub(super) mod load;
