// Queue filters shared by the backend tests (mock.test.ts, replay.test.ts).
import type { QueueFilter } from "../bindings";

/** The queue filter that shows every assignment, soonest due first. */
export const ALL_QUEUE: QueueFilter = {
  search: "",
  statuses: [],
  opportunity_id: null,
  kind: null,
  sort: "due",
};
