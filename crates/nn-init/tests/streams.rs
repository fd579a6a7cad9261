//! Every consumer of randomness has its own stream: distinct consumers, distinct ids.

use nn_init::{SeededRng, Stream};
use proptest::prelude::*;

fn consumer() -> impl Strategy<Value = Stream> {
    prop_oneof![
        (0usize..1 << 40).prop_map(Stream::LayerInit),
        (0usize..1 << 40).prop_map(Stream::LayerDropout),
        any::<u32>().prop_map(Stream::Custom),
        Just(Stream::DropoutMasks),
        Just(Stream::SyntheticData),
        Just(Stream::DataSplit),
        Just(Stream::TrainingShuffle),
    ]
}

proptest! {
    #[test]
    fn distinct_consumers_draw_from_distinct_streams(a in consumer(), b in consumer()) {
        prop_assert_eq!(a == b, a.id() == b.id(), "{:?} {:?}", a, b);
    }
}

#[test]
fn the_edges_of_every_range_stay_apart() {
    let edges = [
        Stream::LayerInit(0),
        Stream::LayerDropout(0),
        Stream::LayerInit((1 << 62) - 1),
        Stream::LayerDropout((1 << 62) - 1),
        Stream::Custom(0),
        Stream::Custom(u32::MAX),
        Stream::DropoutMasks,
        Stream::SyntheticData,
        Stream::DataSplit,
        Stream::TrainingShuffle,
    ];
    let mut ids: Vec<u64> = edges.iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), edges.len());
    // A split and the first layer's weights of one seed are different keystreams.
    let a = SeededRng::for_stream(9, Stream::DataSplit).next_u64();
    let b = SeededRng::for_stream(9, Stream::LayerInit(0)).next_u64();
    assert_ne!(a, b);
}
