"use client";
/** A passage opened from its citation: the document's name, the heading, the score, the text, and the original. */
import { Badge, Button, Dialog, Flex, Text } from "@radix-ui/themes";
import type { Passage } from "../lib/api";
import { useSession } from "./App";

/** Downloads a document's original with the session's credentials (a plain link could carry no API key). */
export async function downloadOriginal(
  api: ReturnType<typeof useSession>["api"],
  id: string,
  name: string,
): Promise<void> {
  const blob = await api.original(id);
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function PassageDialog({
  passage,
  n,
  onClose,
}: {
  passage: Passage;
  n: number;
  onClose: () => void;
}) {
  const { api, notify } = useSession();
  return (
    <Dialog.Root open onOpenChange={(open) => !open && onClose()}>
      <Dialog.Content maxWidth="44rem" aria-describedby={undefined}>
        <Dialog.Title>
          [{n}] {passage.documentName}
        </Dialog.Title>
        <Flex gap="2" mb="3" wrap="wrap" align="center">
          {passage.heading && (
            <Badge highContrast color="indigo">
              {passage.heading}
            </Badge>
          )}
          <Badge highContrast color="gray">
            score {passage.score.toFixed(3)}
          </Badge>
          <Text size="1" color="gray">
            chunk {passage.chunkId}
          </Text>
        </Flex>
        <Text as="p" className="passage-text" data-testid="passage-text">
          {passage.text}
        </Text>
        <Flex gap="3" mt="4" justify="end">
          <Button
            variant="soft"
            onClick={() =>
              void downloadOriginal(api, passage.documentId, passage.documentName).catch((error) =>
                notify(error),
              )
            }
          >
            Open the original
          </Button>
          <Dialog.Close>
            <Button>Close</Button>
          </Dialog.Close>
        </Flex>
      </Dialog.Content>
    </Dialog.Root>
  );
}
