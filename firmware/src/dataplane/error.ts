/**
 * What the dataplane throws: a bad SA spec or engine option, or a record from the
 * addon that breaks the contract (sa-contract.ts). Messages name the field, never key bytes.
 */
export class DataplaneError extends Error {
  override name = 'DataplaneError';
}
