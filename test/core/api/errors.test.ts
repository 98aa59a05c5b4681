import { describe, expect, it } from 'vitest';
import { toErrorResponse } from '#core/api/errors.ts';
import {
  ForbiddenError,
  MAX_ECHOED_LIST_ITEMS,
  MAX_ECHOED_STRING_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  ModelUnavailableError,
  RequestValidationError,
} from '#core/errors.ts';

describe('toErrorResponse', () => {
  it('answers an API error with its status, code, message and details', () => {
    const error = new RequestValidationError('UNKNOWN_CATEGORY', 'instances[0].home has a category the model does not know', {
      field: 'instances[0].home',
      received: 'castle',
      allowed: ['owner', 'rent'],
      limit: 3,
      nullable: false,
      nothing: null,
    });
    expect(toErrorResponse(error)).toEqual({
      status: 400,
      body: {
        error: {
          code: 'UNKNOWN_CATEGORY',
          message: 'instances[0].home has a category the model does not know',
          details: { field: 'instances[0].home', received: 'castle', allowed: ['owner', 'rent'], limit: 3, nullable: false, nothing: null },
        },
      },
    });
    expect(toErrorResponse(new ForbiddenError('MODEL_NOT_ALLOWED', 'no')).status).toBe(403);
    expect(toErrorResponse(new ModelUnavailableError('MODEL_UNAVAILABLE', 'later')).body.error.details).toEqual({});
  });

  it.each([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.7:443 (secret-host)')],
    ['a string', 'table mlops-registry not found'],
    ['undefined', undefined],
    ['an object posing as an API error', { status: 400, code: 'X', message: 'internal detail', details: { a: 1 } }],
  ])('answers %s with a 500 that leaks nothing', (_what, thrown) => {
    expect(toErrorResponse(thrown)).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL_ERROR', message: 'the request could not be processed', details: {} } },
    });
  });

  it(`cuts the message to ${MAX_ERROR_MESSAGE_LENGTH} characters, marking the cut`, () => {
    const exact = 'm'.repeat(MAX_ERROR_MESSAGE_LENGTH);
    expect(toErrorResponse(new RequestValidationError('X', exact)).body.error.message).toBe(exact);
    const long = toErrorResponse(new RequestValidationError('X', `${exact}m`)).body.error.message;
    expect(long).toBe(`${'m'.repeat(MAX_ERROR_MESSAGE_LENGTH - 1)}…`);
  });

  it(`cuts every echoed string to ${MAX_ECHOED_STRING_LENGTH} characters, keys and nested values included`, () => {
    const exact = 'k'.repeat(MAX_ECHOED_STRING_LENGTH);
    const long = 'v'.repeat(MAX_ECHOED_STRING_LENGTH * 4);
    const cut = `${'v'.repeat(MAX_ECHOED_STRING_LENGTH - 1)}…`;
    const { details } = toErrorResponse(
      new RequestValidationError('X', 'm', { exact, received: long, nested: { list: [long, { deeper: long }] }, [`${long}`]: 1 }),
    ).body.error;
    expect(details).toEqual({ exact, received: cut, nested: { list: [cut, { deeper: cut }] }, [cut]: 1 });
  });

  it(`keeps at most ${MAX_ECHOED_LIST_ITEMS} items of a list and entries of an object`, () => {
    const items = Array.from({ length: MAX_ECHOED_LIST_ITEMS + 5 }, (_, i) => `c${i}`);
    const entries = Object.fromEntries(items.map((item, i) => [item, i]));
    const { details } = toErrorResponse(
      new RequestValidationError('X', 'm', { allowed: items, fitting: items.slice(0, MAX_ECHOED_LIST_ITEMS), entries }),
    ).body.error;
    expect(details.allowed).toEqual(items.slice(0, MAX_ECHOED_LIST_ITEMS));
    expect(details.fitting).toEqual(items.slice(0, MAX_ECHOED_LIST_ITEMS));
    expect(Object.keys(details.entries as object)).toEqual(items.slice(0, MAX_ECHOED_LIST_ITEMS));
    const wide = toErrorResponse(new RequestValidationError('X', 'm', entries)).body.error.details;
    expect(Object.keys(wide)).toHaveLength(MAX_ECHOED_LIST_ITEMS);
  });

  it('replaces what lies four levels deep with an ellipsis, strings and numbers there kept', () => {
    const { details } = toErrorResponse(
      new RequestValidationError('X', 'm', { a: { b: { c: { d: { e: 1 }, list: [1], text: 'kept', n: 2 } } } }),
    ).body.error;
    expect(details).toEqual({ a: { b: { c: { d: '…', list: '…', text: 'kept', n: 2 } } } });
  });

  it('counts the levels of nested lists too', () => {
    const { details } = toErrorResponse(new RequestValidationError('X', 'm', { a: [[[[1]]]], b: [[['x']]] })).body.error;
    expect(details).toEqual({ a: [[['…']]], b: [[['x']]] });
  });
});
