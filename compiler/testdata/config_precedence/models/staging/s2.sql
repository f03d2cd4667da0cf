{{ config(schema='custom', pre_hook="select '{{ this }}'", post_hook=["analyze {{ this }}"]) }}
select 2 as x
