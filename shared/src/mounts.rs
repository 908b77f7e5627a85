//! Which mounted file systems are disks: the one list the desktop sampler
//! and the server's own host metrics both use.

/// File system types that are not real disks (kernel, memory and package
/// images).
pub const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "ramfs",
    "squashfs",
    "proc",
    "sysfs",
    "devpts",
    "mqueue",
    "hugetlbfs",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "fusectl",
    "configfs",
    "autofs",
    "efivarfs",
    "nsfs",
    "cgroup",
    "cgroup2",
    "binfmt_misc",
    "rpc_pipefs",
    "nfsd",
    "selinuxfs",
    "overlay-lower",
];

/// Whether `fstype` is one of [`PSEUDO_FS`].
pub fn is_pseudo_fs(fstype: &str) -> bool {
    PSEUDO_FS.contains(&fstype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_and_pseudo_file_systems() {
        for fs in ["tmpfs", "proc", "sysfs", "cgroup2", "squashfs"] {
            assert!(is_pseudo_fs(fs), "{fs}");
        }
        for fs in ["ext4", "xfs", "btrfs", "ntfs", "apfs", "overlay"] {
            assert!(!is_pseudo_fs(fs), "{fs}");
        }
    }
}
