import { afterAll, beforeAll } from "vitest";
import { type DoctorWorld, startDoctorWorld } from "./world";

/** Starts a world before the file's tests and closes it after them; `set` receives it. */
export function useDoctorWorld(set: (world: DoctorWorld) => void): void {
  let started: DoctorWorld | undefined;
  beforeAll(async () => {
    started = await startDoctorWorld();
    set(started);
  });
  afterAll(async () => {
    await started?.close();
  });
}
