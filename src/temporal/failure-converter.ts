/**
 * With payload encryption on, failure messages and stack traces travel in the
 * failure's encoded attributes (a payload, so encrypted) instead of in the clear:
 * the server stores "Encoded failure", and clients, workers and the UI's codec
 * endpoint restore the message. Workers load this module by path (activities)
 * and bundle it into workflow code: it must stay free of Node APIs.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
