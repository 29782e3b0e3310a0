"use client";
/**
 * The confirmation before something that cannot be undone (a delete, a revoke): the trigger
 * opens it, Cancel closes it, the red action runs `onConfirm` and reports a failure the usual way.
 */
import { AlertDialog, Button, Flex } from "@radix-ui/themes";
import type { ReactElement, ReactNode } from "react";
import { useSession } from "./App";

export default function ConfirmDialog({
  trigger,
  title,
  description,
  action,
  onConfirm,
}: {
  /** The button that opens the dialog (one element: Radix passes it the trigger's props). */
  trigger: ReactElement;
  title: ReactNode;
  /** What goes, and that it goes for good. */
  description: ReactNode;
  /** The confirming button's label: "Delete", "Revoke". */
  action: string;
  onConfirm: () => Promise<void>;
}) {
  const { notify } = useSession();
  return (
    <AlertDialog.Root>
      <AlertDialog.Trigger>{trigger}</AlertDialog.Trigger>
      <AlertDialog.Content maxWidth="28rem">
        <AlertDialog.Title>{title}</AlertDialog.Title>
        <AlertDialog.Description size="2">{description}</AlertDialog.Description>
        <Flex gap="3" mt="4" justify="end">
          <AlertDialog.Cancel>
            <Button variant="soft" color="gray">
              Cancel
            </Button>
          </AlertDialog.Cancel>
          <AlertDialog.Action>
            <Button color="red" onClick={() => void onConfirm().catch(notify)}>
              {action}
            </Button>
          </AlertDialog.Action>
        </Flex>
      </AlertDialog.Content>
    </AlertDialog.Root>
  );
}
