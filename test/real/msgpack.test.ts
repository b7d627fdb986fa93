/**
 * The real-interpreter tier (ESPRUINO_BIN): the msgpack build (build/firmware-msgpack/syfala.min.js,
 * `make firmware MSGPACK=1`) on the real Espruino interpreter, spoken in msgpack by the project's
 * client: the same steps as the postcard build (test/support/real-session-suite.ts).
 * UDP ports 46100-46109.
 */
import { describeReal, FIRMWARE_MSGPACK_MIN } from "../support/real-boards.js";
import { realSessionSuite } from "../support/real-session-suite.js";

describeReal(
  "the msgpack build on the real interpreter, in msgpack: boot, discovery, a session, attacks",
  () => {
    realSessionSuite(FIRMWARE_MSGPACK_MIN, "msgpack", 46100);
  },
);
