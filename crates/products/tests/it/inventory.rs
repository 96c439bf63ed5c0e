//! inventory against the simulator.
