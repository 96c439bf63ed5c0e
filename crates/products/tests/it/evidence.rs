//! evidence against the simulator.
