//! The store conformance suite against the embedded store, on disk in a fresh directory.
use boxpilot::store::EmbeddedStore;

struct OnDisk {
    store: EmbeddedStore,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for OnDisk {
    type Target = EmbeddedStore;
    fn deref(&self) -> &EmbeddedStore {
        &self.store
    }
}

async fn fresh() -> OnDisk {
    let dir = tempfile::tempdir().unwrap();
    OnDisk {
        store: EmbeddedStore::open(dir.path()).unwrap(),
        _dir: dir,
    }
}

boxpilot::store_conformance_tests!(fresh());

#[tokio::test]
async fn data_survives_a_reopen() {
    use boxpilot::store::{conformance, Store};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .create_device(&conformance::device("b1", "f"))
            .await
            .unwrap();
        store
            .put_readings(&[conformance::reading("b1", "f", 1, 1_000, 20.0)])
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let id = app::domain::DeviceId::parse("b1").unwrap();
    assert_eq!(
        store
            .metric_series(&id, "temp_c", 0, 2_000)
            .await
            .unwrap()
            .len(),
        1
    );
}
