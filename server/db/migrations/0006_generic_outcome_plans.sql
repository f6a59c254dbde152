-- Outcome statements planned once per connection.
--
-- The statements inside tq_record_transitions take their rows from array parameters. With
-- the default plan cache mode, Postgres kept planning them anew on every call with the arrays'
-- values (custom plans). That planning, of a join and three statements, cost more than the
-- writes when a call carries one or two outcomes, as calls do at low rates. The planner settings the
-- function already has (index lookups by id, no hash or merge joins) make the generic plan
-- the one a custom plan would choose, so the function now always uses it. Measured with
-- `bench/pg-write-cost.ts --variants 0005,current`: Postgres CPU per task 567 -> 380 us with
-- one task per statement, 64 -> 55 with ten, 17.7 -> 14.3 with batches of 500 and 200.
-- A later CREATE OR REPLACE of the function must repeat this setting.
ALTER FUNCTION tq_record_transitions(
  uuid[], text[], int[], text[], float8[], float8[], float8[], bytea[], smallint[], text[],
  uuid[], int[], text[], float8[], float8[], text[], text[]
) SET plan_cache_mode = force_generic_plan;
