import { Client, Connection } from '@temporalio/client';
import type { PerennialConfig } from '../config';

/** A Temporal client, with an error that says what to do when the server is not there. */
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
  return new Client({ connection, namespace: config.temporalNamespace });
}
