import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type LoadedDataConverter } from '@temporalio/common';
import type { PerennialConfig } from '../config';
import { EncryptionCodec } from './codec';
import { failureConverter } from './failure-converter';

/** A Temporal client, with an error that says what to do when the server is not there. Payloads are encrypted when keys are configured. */
export async function connectClient(config: PerennialConfig): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: '5s' });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${config.temporalAddress} (${(error as Error).message}): start it with 'npm run services' or set TEMPORAL_ADDRESS`,
      { cause: error },
    );
  }
  return new Client({ connection, namespace: config.temporalNamespace, dataConverter: clientDataConverter(config) });
}

/** The client's data converter: the encryption codec and encoded failure messages when PERENNIAL_CODEC_KEYS is set, else the SDK's defaults. */
function clientDataConverter(config: PerennialConfig): LoadedDataConverter | undefined {
  if (!config.codecKeys) return undefined;
  // Loaded (converter instances, not module paths): a client needs no module loader.
  return { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: [new EncryptionCodec(config.codecKeys)] };
}

/** Why a workflow run failed, as a person reads it: the activity's own message, not "Workflow execution failed". */
export function workflowFailureMessage(error: unknown): string {
  const cause = error instanceof WorkflowFailedError ? (error.cause?.cause ?? error.cause ?? error) : error;
  return cause instanceof Error ? cause.message : String(cause);
}
