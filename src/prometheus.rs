//! Prometheus scrape targets.
