//! Privacy requests (data-subject access and deletion by email), answered live from every
//! connected system through the connectors' action interface, with an audit trail and receipts.
