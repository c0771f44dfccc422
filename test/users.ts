import { ok, type TestBroker } from "./broker.js";
import { unique } from "./factories.js";

export type UserRole = "ADMIN" | "APPROVER" | "VIEWER";

/** A user with its PAK, created by the admin. */
export async function createUser(broker: TestBroker, role: UserRole = "VIEWER", name = unique("user")) {
  const data = ok(
    await broker.gql<{ createUser: { user: { id: string; name: string; role: UserRole }; pak: string } }>(
      `mutation($i: CreateUserInput!) { createUser(input: $i) { user { id name role } pak } }`,
      { i: { name, role } },
    ),
  );
  return { ...data.createUser.user, pak: data.createUser.pak };
}
