//! Building the K objects the server sends to q, and reading q's replies,
//! without a single `unwrap`: `kdbplus`'s own accessors (`get_column`,
//! `flip`) unwrap internally, so shapes are checked here first.

use chrono::NaiveDate;
use kdbplus::ipc::{J, K, KDB_TIMESTAMP_OFFSET, S};
use kdbplus::{qattribute, qtype};

use vitals_shared::day::from_ms;

use super::KdbError;
use crate::identity::InstanceId;

/// Epoch milliseconds of a q timestamp (nanoseconds from 2000-01-01); q's
/// null timestamp stays `i64::MIN`.
pub fn ms_from_ts(ts: J) -> i64 {
    if ts == J::MIN {
        return i64::MIN;
    }
    (ts + KDB_TIMESTAMP_OFFSET).div_euclid(1_000_000)
}

/// A guid atom from an instance id.
pub fn guid(id: InstanceId) -> K {
    K::new_guid(id.0)
}

/// A timestamp atom from epoch milliseconds (callers clamp to the day, so
/// it is always in chrono's range).
pub fn timestamp(ms: i64) -> K {
    K::new_timestamp(from_ms(ms))
}

/// A date atom.
pub fn date(d: NaiveDate) -> K {
    K::new_date(d)
}

/// A symbol atom.
pub fn symbol(s: &str) -> K {
    K::new_symbol(s.to_owned())
}

/// A long atom.
pub fn long(v: i64) -> K {
    K::new_long(v)
}

/// A timestamp vector from epoch milliseconds.
pub fn timestamps(ms: impl IntoIterator<Item = i64>) -> K {
    K::new_timestamp_list(ms.into_iter().map(from_ms).collect(), qattribute::NONE)
}

/// A guid vector.
pub fn guids(ids: impl IntoIterator<Item = [u8; 16]>) -> K {
    K::new_guid_list(ids.into_iter().collect(), qattribute::NONE)
}

/// A long vector.
pub fn longs(v: impl IntoIterator<Item = i64>) -> K {
    K::new_long_list(v.into_iter().collect(), qattribute::NONE)
}

/// A float vector.
pub fn floats(v: impl IntoIterator<Item = f64>) -> K {
    K::new_float_list(v.into_iter().collect(), qattribute::NONE)
}

/// A symbol vector.
pub fn symbols<'a>(v: impl IntoIterator<Item = &'a str>) -> K {
    K::new_symbol_list(v.into_iter().map(str::to_owned).collect(), qattribute::NONE)
}

/// A general list (of float vectors, for `cores_pct`).
pub fn compound(v: Vec<K>) -> K {
    K::new_compound_list(v)
}

/// A table from `(column name, column vector)` pairs of equal length.
pub fn table(cols: Vec<(&str, K)>) -> Result<K, KdbError> {
    let (names, values): (Vec<&str>, Vec<K>) = cols.into_iter().unzip();
    let dict = K::new_dictionary(symbols(names), K::new_compound_list(values))
        .map_err(|e| KdbError::Protocol(format!("cannot build a table: {e}")))?;
    dict.flip()
        .map_err(|e| KdbError::Protocol(format!("cannot build a table: {e}")))
}

/// A functional call `(`name; args...)`, the only message shape the q side
/// accepts.
pub fn call(function: &str, args: Vec<K>) -> K {
    let mut list = Vec::with_capacity(args.len() + 1);
    list.push(symbol(function));
    list.extend(args);
    K::new_compound_list(list)
}

// ---- reading replies ------------------------------------------------------

fn shape(what: &str, k: &K) -> KdbError {
    KdbError::Protocol(format!(
        "unexpected reply: {what} (got q type {})",
        k.get_type()
    ))
}

/// The columns of a table reply, by name.
pub struct Table<'a> {
    names: &'a [S],
    cols: &'a [K],
    rows: usize,
}

impl<'a> Table<'a> {
    /// Reads a table (type 98). An empty general list (what q returns for an
    /// empty untyped result) reads as a table with no rows.
    pub fn of(k: &'a K) -> Result<Table<'a>, KdbError> {
        if k.get_type() == qtype::COMPOUND_LIST && k.len() == 0 {
            return Ok(Table {
                names: &[],
                cols: &[],
                rows: 0,
            });
        }
        if k.get_type() != qtype::TABLE {
            return Err(shape("a table", k));
        }
        let dict = k.get_dictionary().map_err(|_| shape("a table", k))?;
        let kv = dict.as_vec::<K>().map_err(|_| shape("a table", k))?;
        let [keys, values] = kv.as_slice() else {
            return Err(shape("a table", k));
        };
        let names = keys
            .as_vec::<S>()
            .map_err(|_| shape("column names", keys))?;
        let cols = values.as_vec::<K>().map_err(|_| shape("columns", values))?;
        let rows = cols.first().map_or(0, K::len);
        if names.len() != cols.len() || cols.iter().any(|c| c.len() != rows) {
            return Err(shape("a rectangular table", k));
        }
        Ok(Table { names, cols, rows })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn col(&self, name: &str, want: i8) -> Result<Option<&'a K>, KdbError> {
        if self.rows == 0 && self.names.is_empty() {
            return Ok(None);
        }
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| KdbError::Protocol(format!("reply has no column '{name}'")))?;
        let c = &self.cols[i];
        if c.get_type() != want {
            return Err(KdbError::Protocol(format!(
                "column '{name}' has q type {}, expected {want}",
                c.get_type()
            )));
        }
        Ok(Some(c))
    }

    fn vec_of<T: Clone + 'static>(&self, name: &str, want: i8) -> Result<Vec<T>, KdbError> {
        match self.col(name, want)? {
            None => Ok(Vec::new()),
            Some(c) => c.as_vec::<T>().cloned().map_err(|_| shape(name, c)),
        }
    }

    /// A long column.
    pub fn longs(&self, name: &str) -> Result<Vec<i64>, KdbError> {
        self.vec_of::<J>(name, qtype::LONG_LIST)
    }

    /// A float column.
    pub fn floats(&self, name: &str) -> Result<Vec<f64>, KdbError> {
        self.vec_of::<f64>(name, qtype::FLOAT_LIST)
    }

    /// A timestamp column, as epoch milliseconds.
    pub fn timestamps_ms(&self, name: &str) -> Result<Vec<i64>, KdbError> {
        Ok(self
            .vec_of::<J>(name, qtype::TIMESTAMP_LIST)?
            .into_iter()
            .map(ms_from_ts)
            .collect())
    }

    /// A symbol column (the null symbol reads as "").
    pub fn symbols(&self, name: &str) -> Result<Vec<String>, KdbError> {
        self.vec_of::<S>(name, qtype::SYMBOL_LIST)
    }

    /// A column of float vectors (a general list).
    pub fn float_lists(&self, name: &str) -> Result<Vec<Vec<f64>>, KdbError> {
        let Some(c) = self.col(name, qtype::COMPOUND_LIST)? else {
            return Ok(Vec::new());
        };
        let items = c.as_vec::<K>().map_err(|_| shape(name, c))?;
        items
            .iter()
            .map(|x| {
                x.as_vec::<f64>()
                    .cloned()
                    .map_err(|_| shape("a float vector", x))
            })
            .collect()
    }
}

/// A long atom reply.
pub fn read_long(k: &K) -> Result<i64, KdbError> {
    k.get_long().map_err(|_| shape("a long", k))
}

/// A boolean atom reply.
pub fn read_bool(k: &K) -> Result<bool, KdbError> {
    k.get_bool().map_err(|_| shape("a boolean", k))
}

/// A symbol atom reply.
pub fn read_symbol(k: &K) -> Result<String, KdbError> {
    k.get_symbol()
        .map(str::to_owned)
        .map_err(|_| shape("a symbol", k))
}

/// A symbol vector reply.
pub fn read_symbols(k: &K) -> Result<Vec<String>, KdbError> {
    if k.get_type() == qtype::COMPOUND_LIST && k.len() == 0 {
        return Ok(Vec::new());
    }
    k.as_vec::<S>()
        .cloned()
        .map_err(|_| shape("a symbol vector", k))
}

/// A `` `cpu`ram`disc!n `` dictionary reply of three longs.
pub fn read_row_counts(k: &K) -> Result<vitals_shared::wire::RowCounts, KdbError> {
    let kv = k.as_vec::<K>().map_err(|_| shape("a dictionary", k))?;
    let ([keys, values], qtype::DICTIONARY) = (kv.as_slice(), k.get_type()) else {
        return Err(shape("a dictionary", k));
    };
    let names = keys
        .as_vec::<S>()
        .map_err(|_| shape("dictionary keys", keys))?;
    let n = values
        .as_vec::<J>()
        .map_err(|_| shape("long values", values))?;
    let get = |t: &str| -> Result<u64, KdbError> {
        let i = names
            .iter()
            .position(|x| x == t)
            .ok_or_else(|| KdbError::Protocol(format!("row counts without '{t}'")))?;
        n.get(i)
            .and_then(|v| u64::try_from(*v).ok())
            .ok_or_else(|| shape("row counts", values))
    };
    Ok(vitals_shared::wire::RowCounts {
        cpu: get("cpu")?,
        ram: get("ram")?,
        disc: get("disc")?,
    })
}
