"use client";
/**
 * Administration: API keys (issue, shown once; revoke), users and their roles as single sign-on
 * reports them, each backend's readiness, the configured models, and the feedback exported as an
 * evaluation set.
 */
import { DownloadIcon } from "@radix-ui/react-icons";
import {
  Badge,
  Button,
  Callout,
  Card,
  DataList,
  Flex,
  Grid,
  Heading,
  SegmentedControl,
  Table,
  Text,
  TextField,
} from "@radix-ui/themes";
import { useCallback, useEffect, useState } from "react";
import type { AdminUser, ApiKey, Models, Role } from "../lib/api";
import { useSession } from "./App";
import ConfirmDialog from "./ConfirmDialog";

export default function Admin({
  ready,
}: {
  ready?: { ok: boolean; checks: Record<string, string> };
}) {
  const { api, me, notify } = useSession();
  const [models, setModels] = useState<Models>();
  const [users, setUsers] = useState<AdminUser[]>([]);
  useEffect(() => {
    api.models().then(setModels, (e) => notify(e));
    api.users().then(
      (r) => setUsers(r.users),
      (e) => notify(e),
    );
  }, [api, notify]);

  const exportFeedback = async () => {
    try {
      const url = URL.createObjectURL(await api.feedbackExport());
      const a = document.createElement("a");
      a.href = url;
      a.download = "feedback.jsonl";
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      notify(error);
    }
  };

  return (
    <Flex direction="column" gap="5">
      <Heading as="h2" size="5">
        Admin
      </Heading>
      <Grid columns={{ initial: "1", md: "2" }} gap="4">
        <Card>
          <Heading as="h3" size="3" mb="3">
            Service status
          </Heading>
          <DataList.Root aria-label="Backends">
            {Object.entries(ready?.checks ?? {}).map(([name, state]) => (
              <DataList.Item key={name}>
                <DataList.Label>{name}</DataList.Label>
                <DataList.Value>
                  <Badge highContrast color={state === "ok" ? "green" : "red"}>
                    {state}
                  </Badge>
                </DataList.Value>
              </DataList.Item>
            ))}
          </DataList.Root>
        </Card>
        <Card>
          <Heading as="h3" size="3" mb="3">
            Models
          </Heading>
          {models && (
            <DataList.Root aria-label="Models">
              <DataList.Item>
                <DataList.Label>Answers</DataList.Label>
                <DataList.Value>{models.generator}</DataList.Value>
              </DataList.Item>
              <DataList.Item>
                <DataList.Label>Embeddings</DataList.Label>
                <DataList.Value>{models.embeddings}</DataList.Value>
              </DataList.Item>
              <DataList.Item>
                <DataList.Label>Follow-ups rewritten by</DataList.Label>
                <DataList.Value>
                  {models.rewriter === "model" ? "the model" : "the rule"}
                </DataList.Value>
              </DataList.Item>
            </DataList.Root>
          )}
          <Button mt="4" variant="soft" onClick={() => void exportFeedback()}>
            <DownloadIcon /> Export feedback (evaluation set, JSONL)
          </Button>
        </Card>
      </Grid>
      {me.kind !== "local" && <Keys />}
      <Card>
        <Heading as="h3" size="3" mb="3">
          Users
        </Heading>
        <Text as="p" size="2" color="gray" mb="2">
          As single sign-on reports them (the role of their latest session), and the other owners of
          conversations (API keys, the local user).
        </Text>
        <Table.Root aria-label="Users">
          <Table.Header>
            <Table.Row>
              <Table.ColumnHeaderCell>User</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Role</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell>Last seen</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell justify="end">Sessions</Table.ColumnHeaderCell>
              <Table.ColumnHeaderCell justify="end">Conversations</Table.ColumnHeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {users.map((u) => (
              <Table.Row key={u.owner}>
                <Table.RowHeaderCell>
                  {u.name ? `${u.name} (${u.owner})` : u.owner}
                </Table.RowHeaderCell>
                <Table.Cell>{u.role ?? "—"}</Table.Cell>
                <Table.Cell>{u.lastSeen ? new Date(u.lastSeen).toLocaleString() : "—"}</Table.Cell>
                <Table.Cell justify="end">{u.activeSessions}</Table.Cell>
                <Table.Cell justify="end">{u.conversations}</Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table.Root>
      </Card>
    </Flex>
  );
}

function Keys() {
  const { api, notify } = useSession();
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("reader");
  const [issued, setIssued] = useState<{ name: string; key: string }>();
  const refresh = useCallback(async () => {
    try {
      setKeys(await api.keys());
    } catch (error) {
      notify(error);
    }
  }, [api, notify]);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  return (
    <Card>
      <Heading as="h3" size="3" mb="3">
        API keys
      </Heading>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void (async () => {
            try {
              const key = await api.issueKey(name.trim(), role);
              setIssued({ name: key.name, key: key.key });
              setName("");
              await refresh();
            } catch (error) {
              notify(error);
            }
          })();
        }}
      >
        <Flex gap="3" align="end" wrap="wrap">
          <Flex direction="column" gap="1">
            <Text as="label" htmlFor="key-name" size="1" color="gray">
              Name
            </Text>
            <TextField.Root
              id="key-name"
              required
              maxLength={200}
              placeholder="ci-pipeline"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </Flex>
          <Flex direction="column" gap="1">
            <Text as="label" size="1" color="gray" id="key-role-label">
              Role
            </Text>
            <SegmentedControl.Root
              aria-labelledby="key-role-label"
              value={role}
              onValueChange={(v) => setRole(v as Role)}
            >
              <SegmentedControl.Item value="reader">reader</SegmentedControl.Item>
              <SegmentedControl.Item value="ingester">ingester</SegmentedControl.Item>
              <SegmentedControl.Item value="admin">admin</SegmentedControl.Item>
            </SegmentedControl.Root>
          </Flex>
          <Button type="submit" disabled={!name.trim()}>
            Issue key
          </Button>
        </Flex>
      </form>
      {issued && (
        <Callout.Root color="green" mt="3">
          <Callout.Text>
            New key for <strong>{issued.name}</strong>: copy it now, it is shown only once.
          </Callout.Text>
          <TextField.Root
            readOnly
            value={issued.key}
            aria-label="The new key"
            data-testid="issued-key"
          />
        </Callout.Root>
      )}
      <Table.Root mt="3" aria-label="API keys" data-testid="keys">
        <Table.Header>
          <Table.Row>
            <Table.ColumnHeaderCell>Name</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Role</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>Issued</Table.ColumnHeaderCell>
            <Table.ColumnHeaderCell>
              <span className="visually-hidden">Actions</span>
            </Table.ColumnHeaderCell>
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {keys.map((k) => (
            <Table.Row key={k.id}>
              <Table.RowHeaderCell>{k.name}</Table.RowHeaderCell>
              <Table.Cell>{k.role}</Table.Cell>
              <Table.Cell>{k.createdAt ? new Date(k.createdAt).toLocaleString() : ""}</Table.Cell>
              <Table.Cell>
                <ConfirmDialog
                  trigger={
                    <Button variant="ghost" color="red" size="1">
                      Revoke {k.name}
                    </Button>
                  }
                  title={`Revoke ${k.name}?`}
                  description="Whatever uses this key stops working at once."
                  action="Revoke"
                  onConfirm={async () => {
                    await api.revokeKey(k.id);
                    await refresh();
                  }}
                />
              </Table.Cell>
            </Table.Row>
          ))}
        </Table.Body>
      </Table.Root>
    </Card>
  );
}
