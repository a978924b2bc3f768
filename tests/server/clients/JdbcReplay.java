// Statements replayed through the PostgreSQL JDBC driver, as Tableau's postgres_jdbc connector sends them:
// each with Statement.execute on one autocommit connection (the driver's extended protocol), every row read
// with getObject. The statements come on standard input, separated by lines "--@@". Run as a single-file
// program (Java 11+) with the driver on the class path:
//   java -cp /usr/share/java/postgresql.jar JdbcReplay.java jdbc:postgresql://127.0.0.1:PORT/c360 USER < statements
// Prints one line per statement: "ok<TAB>labels<TAB>rows" (rows sorted, values as text, decimals without
// trailing zeros) or "error<TAB>SQLSTATE"; tests/server/test_client_fixtures.py reads them.
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.*;
import java.util.*;

public class JdbcReplay {
    static String text(Object value) {
        if (value instanceof BigDecimal) {
            BigDecimal number = ((BigDecimal) value).stripTrailingZeros();
            return number.signum() == 0 ? "0" : number.toPlainString();
        }
        if (value instanceof Double || value instanceof Float) {
            return new BigDecimal(((Number) value).doubleValue()).round(new java.math.MathContext(12)).stripTrailingZeros().toPlainString();
        }
        return String.valueOf(value);
    }

    public static void main(String[] args) throws Exception {
        String input = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        Properties properties = new Properties();
        properties.setProperty("user", args[1]);
        try (Connection connection = DriverManager.getConnection(args[0], properties)) {
            connection.setAutoCommit(true);
            for (String sql : input.split("\n--@@\n")) {
                if (sql.isBlank()) {
                    continue;
                }
                try (Statement statement = connection.createStatement()) {
                    if (!statement.execute(sql)) {
                        System.out.println("ok\t\t");
                        continue;
                    }
                    ResultSet rows = statement.getResultSet();
                    ResultSetMetaData meta = rows.getMetaData();
                    List<String> labels = new ArrayList<>();
                    for (int i = 1; i <= meta.getColumnCount(); i++) {
                        labels.add(meta.getColumnLabel(i));
                    }
                    List<String> found = new ArrayList<>();
                    while (rows.next()) {
                        List<String> row = new ArrayList<>();
                        for (int i = 1; i <= meta.getColumnCount(); i++) {
                            row.add(text(rows.getObject(i)));
                        }
                        found.add(String.join("|", row));
                    }
                    Collections.sort(found);
                    System.out.println("ok\t" + String.join(",", labels) + "\t" + String.join(";", found));
                } catch (SQLException error) {
                    System.out.println("error\t" + error.getSQLState());
                }
            }
        }
    }
}
