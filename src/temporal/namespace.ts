import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcServiceError, type ConnectionLike } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { SEARCH_ATTRIBUTES } from './search-attributes';

// gRPC status codes and Temporal's IndexedValueType, as the protocol numbers them.
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const INDEXED_VALUE_TYPE_KEYWORD = 2;

const isNotFound = (error: unknown) => isGrpcServiceError(error) && Number(error.code) === GRPC_NOT_FOUND;
const isAlreadyExists = (error: unknown) => isGrpcServiceError(error) && Number(error.code) === GRPC_ALREADY_EXISTS;

/**
 * Makes sure a namespace exists with Perennial's search attributes, on any
 * Temporal server (the dev server, a self-hosted cluster). Idempotent.
 */
export async function ensureNamespace(
  connection: Pick<ConnectionLike, 'workflowService' | 'operatorService'>,
  namespace: string,
  retentionDays = 3,
): Promise<void> {
  const { workflowService, operatorService } = connection;
  try {
    await workflowService.describeNamespace({ namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) });
    } catch (registerError) {
      if (!isAlreadyExists(registerError)) throw registerError;
    }
  }
  // A new namespace reaches every part of the server a moment later: calls in it may say NotFound meanwhile.
  const { customAttributes } = await untilFound(() => operatorService.listSearchAttributes({ namespace }));
  const missing = SEARCH_ATTRIBUTES.map((key) => key.name).filter((name) => !(name in (customAttributes ?? {})));
  if (missing.length > 0) {
    try {
      await operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, INDEXED_VALUE_TYPE_KEYWORD])) });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  await untilFound(() => workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }));
}

/** Retries a call that says NotFound for up to 30 s (a namespace just registered). */
async function untilFound<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 60 || !isNotFound(error)) throw error;
      await sleep(500);
    }
  }
}
