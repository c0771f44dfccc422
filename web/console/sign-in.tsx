import { Alert, Button, Card, Center, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { useState } from "react";

export function SignIn(props: { onSignIn: (pak: string) => void; error: string | null; checking: boolean }) {
  const [draft, setDraft] = useState("");
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (draft.trim()) props.onSignIn(draft.trim());
  };
  return (
    <Center mih="100vh" component="main">
      <Card withBorder shadow="sm" w={440} padding="xl">
        <form onSubmit={submit} aria-labelledby="sign-in-title">
          <Stack>
            <Title order={1} size="h2" id="sign-in-title">
              Brokkr-TS console
            </Title>
            <Text size="sm" c="dimmed">
              Sign in with the admin PAK or a user's PAK (a VIEWER reads everything and changes nothing). The key stays in this
              tab only.
            </Text>
            <PasswordInput
              label="PAK"
              placeholder="brokkr_BR…"
              autoComplete="off"
              value={draft}
              onChange={(e) => setDraft(e.currentTarget.value)}
              required
            />
            {props.error && (
              <Alert color="red" role="alert" title="Not signed in">
                {props.error}
              </Alert>
            )}
            <Button type="submit" loading={props.checking && !props.error}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Card>
    </Center>
  );
}
