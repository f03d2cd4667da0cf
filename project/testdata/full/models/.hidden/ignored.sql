select 'hidden'
