//! Where the user directory lives: which key holds a user's entry, and which keys make up the
//! whole directory.
//!
//! On a single Redis the directory is one hash, `chat:users` (one `HVALS` lists everybody).
//! On a Redis Cluster one hash would be one hot key on one shard, read by every connection
//! and written by every login, so it is spread over [`CLUSTER_BUCKETS`] hashes
//! `chat:users:<n>` (`n` = FNV-1a of the userID modulo the bucket count). Their names carry no
//! hash tag, so the buckets land on different slots and thus on every shard; listing users
//! reads every bucket (`HVALS` each, concurrently): a fixed number of key reads, never a scan
//! of the keyspace.

use super::connection::RedisConnection;
use super::keys::USER_DIRECTORY_KEY;

/// Hashes the user directory is spread over on a cluster. Fixed: changing it would orphan
/// the entries of the buckets no longer read (they would come back with the users' next login).
pub const CLUSTER_BUCKETS: u32 = 16;

/// The layout of the user directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directory {
    /// One hash, `chat:users`.
    Single,
    /// [`CLUSTER_BUCKETS`] hashes `chat:users:<n>`.
    Bucketed,
}

impl Directory {
    /// The hash holding `user_id`'s entry.
    pub fn key_of(self, user_id: &str) -> String {
        match self {
            Directory::Single => USER_DIRECTORY_KEY.to_owned(),
            Directory::Bucketed => bucket_key(fnv1a(user_id.as_bytes()) % CLUSTER_BUCKETS),
        }
    }

    /// Every hash of the directory, to list all users.
    pub fn all_keys(self) -> Vec<String> {
        match self {
            Directory::Single => vec![USER_DIRECTORY_KEY.to_owned()],
            Directory::Bucketed => (0..CLUSTER_BUCKETS).map(bucket_key).collect(),
        }
    }
}

impl Directory {
    /// The layout on `conn`: bucketed on a cluster.
    pub fn of(conn: &RedisConnection) -> Directory {
        if conn.is_cluster() {
            Directory::Bucketed
        } else {
            Directory::Single
        }
    }
}

impl RedisConnection {
    /// The hash of the user directory holding `user_id`'s entry on this Redis.
    pub fn directory_key_of(&self, user_id: &str) -> String {
        Directory::of(self).key_of(user_id)
    }

    /// Every hash of the user directory on this Redis.
    pub fn directory_keys(&self) -> Vec<String> {
        Directory::of(self).all_keys()
    }
}

fn bucket_key(bucket: u32) -> String {
    format!("{USER_DIRECTORY_KEY}:{bucket}")
}

/// 32-bit FNV-1a: stable across builds and platforms (unlike std's hasher), so every node
/// puts a user in the same bucket.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_is_one_key_and_buckets_spread() {
        assert_eq!(Directory::Single.key_of("u1"), "chat:users");
        assert_eq!(Directory::Single.all_keys(), ["chat:users"]);
        let all = Directory::Bucketed.all_keys();
        assert_eq!(all.len(), CLUSTER_BUCKETS as usize);
        assert_eq!(all[3], "chat:users:3");
        let mut used = std::collections::HashSet::new();
        for i in 0..200 {
            let key = Directory::Bucketed.key_of(&format!("{i:016x}"));
            assert!(all.contains(&key));
            used.insert(key);
        }
        assert_eq!(
            used.len(),
            CLUSTER_BUCKETS as usize,
            "every bucket gets users"
        );
        assert_eq!(fnv1a(b"a"), 0xe40c_292c, "the published FNV-1a test vector");
    }
}
