//! requests against the simulator.
