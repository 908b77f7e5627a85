//! HTTP handlers, one module per resource, functions named after the verb.

pub mod claim;
pub mod demo;
pub mod export;
pub mod health;
pub mod ingest;
pub mod instances;
pub mod live;
pub mod me;
pub mod otlp;
pub mod pages;
pub mod pairing;
pub mod policy;
pub mod series;
pub mod stats;
pub mod web_link;
