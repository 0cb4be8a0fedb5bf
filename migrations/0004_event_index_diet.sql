-- Every stored event updated each index of the events table. The listings walk
-- events_by_domain (newest first) and check the key and event-name filters on its rows, and
-- an event_id is found through the unique (domain, event_id) index, so these two indexes
-- served no query and cost every insert two more B-tree updates.
DROP INDEX IF EXISTS events_by_domain_key;
DROP INDEX IF EXISTS events_by_domain_name;
