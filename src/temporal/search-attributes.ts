/**
 * Perennial's search attributes: the Temporal UI filters runs by model,
 * version, stage and trigger. One definition for the workflows that set them,
 * the client that queries them and the namespace set-up that registers them.
 * Imports only @temporalio/common: workflows bundle this file.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_MODEL = defineSearchAttributeKey('PerennialModel', SearchAttributeType.KEYWORD);
export const SA_VERSION = defineSearchAttributeKey('PerennialVersion', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('PerennialStage', SearchAttributeType.KEYWORD);
export const SA_TRIGGER = defineSearchAttributeKey('PerennialTrigger', SearchAttributeType.KEYWORD);

/** Every one of them, for registering them in a namespace. */
export const SEARCH_ATTRIBUTES = [SA_MODEL, SA_VERSION, SA_STAGE, SA_TRIGGER] as const;
